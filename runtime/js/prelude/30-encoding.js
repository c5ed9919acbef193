// Prelude, piece 30: bytes and text encodings, built in this realm.
//
// base64 (and base64url), UTF-8, latin1 and hex over Uint8Array: fetch and crypto
// use them to turn bytes into the strings that cross the bridge. Also atob/btoa
// and TextEncoder/TextDecoder (utf-8 only). Buffer itself is a library bundle
// (dist/buffer.js, evaluated in this realm when the code needs it, see
// 90-libraries): `toBuffer` returns a Buffer when it is there, plain bytes otherwise.
// Uses: G, apply, fromCharCode, hidden (00).

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
B64_INDEX[45] = 62; // '-' (base64url)
B64_INDEX[95] = 63; // '_'

function bytesToBase64(bytes) {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64[n >> 18] + B64[(n >> 12) & 63] + B64[(n >> 6) & 63] + B64[n & 63];
  }
  if (i < bytes.length) {
    const n = (bytes[i] << 16) | ((i + 1 < bytes.length ? bytes[i + 1] : 0) << 8);
    out += B64[n >> 18] + B64[(n >> 12) & 63];
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63] + '=' : '==';
  }
  return out;
}

function base64ToBytes(s, strict) {
  const clean = String(s)
    .replace(/[\t\n\f\r ]+/g, '')
    .replace(/=+$/, '');
  if (strict && (clean.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(clean))) {
    throw new DOMExceptionLike(
      'The string to be decoded is not correctly encoded.',
      'InvalidCharacterError',
    );
  }
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64_INDEX[clean.charCodeAt(i) & 255];
    if (v < 0) continue;
    value = (value << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 255;
    }
  }
  return j === out.length ? out : out.subarray(0, j);
}

function utf8Encode(s) {
  s = String(s);
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else {
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
  }
  return new Uint8Array(out);
}

function utf8Decode(bytes) {
  let out = '';
  let chunk = [];
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let c = 0xfffd;
    let n = 1;
    if (b < 0x80) c = b;
    else if (b >= 0xc2 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
      c = ((b & 31) << 6) | (bytes[i + 1] & 63);
      n = 2;
    } else if (
      b >= 0xe0 &&
      b < 0xf0 &&
      i + 2 < bytes.length &&
      (bytes[i + 1] & 0xc0) === 0x80 &&
      (bytes[i + 2] & 0xc0) === 0x80
    ) {
      c = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
      n = 3;
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
    } else if (
      b >= 0xf0 &&
      b < 0xf5 &&
      i + 3 < bytes.length &&
      (bytes[i + 1] & 0xc0) === 0x80 &&
      (bytes[i + 2] & 0xc0) === 0x80 &&
      (bytes[i + 3] & 0xc0) === 0x80
    ) {
      c =
        ((b & 7) << 18) |
        ((bytes[i + 1] & 63) << 12) |
        ((bytes[i + 2] & 63) << 6) |
        (bytes[i + 3] & 63);
      n = 4;
      if (c < 0x10000 || c > 0x10ffff) c = 0xfffd;
    }
    i += n;
    if (c >= 0x10000) {
      c -= 0x10000;
      chunk.push(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
    } else chunk.push(c);
    if (chunk.length > 8000) {
      out += apply(fromCharCode, null, chunk);
      chunk = [];
    }
  }
  return out + apply(fromCharCode, null, chunk);
}

function toBytes(data, encoding) {
  if (typeof data === 'string') {
    const enc = String(encoding || 'utf8').toLowerCase();
    if (enc === 'hex') {
      const out = new Uint8Array(data.length >> 1);
      for (let i = 0; i < out.length; i++) out[i] = parseInt(data.substr(i * 2, 2), 16) || 0;
      return out;
    }
    if (enc === 'base64' || enc === 'base64url') return base64ToBytes(data, false);
    if (enc === 'latin1' || enc === 'binary' || enc === 'ascii') {
      const out = new Uint8Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = data.charCodeAt(i) & 255;
      return out;
    }
    return utf8Encode(data);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('The "data" argument must be a string, Buffer, TypedArray or DataView');
}

function concat(chunks) {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

// Buffer is a library bundle evaluated in this realm when the code needs it.
function toBuffer(bytes) {
  const Buf = G.Buffer;
  return typeof Buf === 'function' && Buf.from
    ? Buf.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    : bytes;
}

class DOMExceptionLike extends Error {
  constructor(message, name) {
    super(message);
    this.name = name || 'Error';
  }
}

hidden(G, 'btoa', function btoa(s) {
  s = String(s);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) {
      throw new DOMExceptionLike('Invalid character', 'InvalidCharacterError');
    }
    bytes[i] = c;
  }
  return bytesToBase64(bytes);
});
hidden(G, 'atob', function atob(s) {
  const bytes = base64ToBytes(s, true);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += fromCharCode(bytes[i]);
  return out;
});

class TextEncoder {
  get encoding() {
    return 'utf-8';
  }
  encode(s = '') {
    return utf8Encode(s);
  }
}
class TextDecoder {
  constructor(label = 'utf-8') {
    const l = String(label).toLowerCase();
    if (l !== 'utf-8' && l !== 'utf8') throw new RangeError('Only utf-8 is supported');
  }
  get encoding() {
    return 'utf-8';
  }
  decode(input) {
    if (input === undefined) return '';
    let bytes = toBytes(input);
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    return utf8Decode(bytes);
  }
}
hidden(G, 'TextEncoder', TextEncoder);
hidden(G, 'TextDecoder', TextDecoder);
