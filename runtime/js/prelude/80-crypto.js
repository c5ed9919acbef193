// Prelude, piece 80: the `crypto` global (the part of Node's API functions use).
//
// Digests, HMACs, random bytes, key parsing, signing and verifying run on the host
// (host/crypto.js, which vets keys before OpenSSL sees them): data crosses the
// bridge as base64 text, keys as PEM text, and only strings come back.
// Uses: G, OrigPromise, hidden, host, parse, stringify (00); the byte helpers (30).
//
const DIGEST_ENCODINGS = ['hex', 'base64', 'base64url', 'latin1', 'binary'];
class Hash {
  constructor(alg, key) {
    this._alg = String(alg).toLowerCase();
    this._key = key;
    this._chunks = [];
    this._done = false;
  }
  update(data, encoding) {
    if (this._done) throw new Error('Digest already called');
    this._chunks.push(toBytes(data, encoding));
    return this;
  }
  digest(encoding) {
    if (this._done) throw new Error('Digest already called');
    this._done = true;
    const enc = encoding === undefined || encoding === 'buffer' ? null : String(encoding);
    if (enc !== null && DIGEST_ENCODINGS.indexOf(enc) === -1) {
      throw new TypeError('Unsupported digest encoding: ' + enc);
    }
    const data = bytesToBase64(concat(this._chunks));
    const r =
      this._key === undefined
        ? host('hash', this._alg, data, enc || 'base64')
        : host('hmac', this._alg, this._key, data, enc || 'base64');
    if (typeof r !== 'string') throw new Error('Digest failed');
    if (r[0] === '!') throw new Error(r.slice(1));
    return enc === null ? toBuffer(base64ToBytes(r, false)) : r;
  }
}

function keyToBase64(key) {
  if (key instanceof KeyObject && key.type === 'secret') return bytesToBase64(key._bytes);
  return bytesToBase64(toBytes(key));
}

// Keys are PEM text held in the realm; signing and verifying happen on the host
// (strings in, strings out).
class KeyObject {
  constructor(type, fields) {
    this.type = type;
    Object.assign(this, fields);
  }
  get symmetricKeySize() {
    return this.type === 'secret' ? this._bytes.length : undefined;
  }
  export(options) {
    if (this.type === 'secret') return toBuffer(this._bytes.slice());
    const format = options && options.format;
    if (format === 'jwk') throw new Error('JWK export is not supported');
    return this._pem;
  }
  equals(other) {
    return (
      other instanceof KeyObject &&
      other.type === this.type &&
      (this.type === 'secret'
        ? bytesToBase64(this._bytes) === bytesToBase64(other._bytes)
        : this._pem === other._pem)
    );
  }
}

function keyText(input) {
  if (typeof input === 'string') return [input, ''];
  if (input instanceof KeyObject) return [input._pem, ''];
  if (input instanceof ArrayBuffer || ArrayBuffer.isView(input))
    return [utf8Decode(toBytes(input)), ''];
  if (input !== null && typeof input === 'object') {
    const [text] = keyText(input.key);
    return [text, input.passphrase === undefined ? '' : String(input.passphrase)];
  }
  throw new TypeError('The "key" argument must be a string, Buffer, KeyObject or object');
}

function asymmetricKey(kind, input) {
  if (input instanceof KeyObject) {
    if (kind === 'public' && input.type === 'private') return asymmetricKey('public', input._pem);
    return input;
  }
  const [text, passphrase] = keyText(input);
  const r = host('keyinfo', kind, text, passphrase);
  if (typeof r !== 'string' || r[0] === '!') {
    throw new Error(typeof r === 'string' ? r.slice(1) : 'Invalid key');
  }
  const info = parse(r);
  return new KeyObject(info.type, {
    asymmetricKeyType: info.asymmetricKeyType,
    asymmetricKeyDetails: info.details,
    _pem: info.pem,
  });
}

function keySpec(key, kind) {
  const options =
    key !== null &&
    typeof key === 'object' &&
    !(key instanceof KeyObject) &&
    !ArrayBuffer.isView(key)
      ? key
      : {};
  const k = asymmetricKey(kind, key);
  return stringify({
    key: String(k._pem),
    padding: options.padding === undefined ? null : Number(options.padding),
    saltLength: options.saltLength === undefined ? null : Number(options.saltLength),
    dsaEncoding: options.dsaEncoding === undefined ? null : String(options.dsaEncoding),
  });
}

class Sign {
  constructor(alg, verify) {
    this._alg = String(alg);
    this._chunks = [];
    this._verify = verify;
  }
  update(data, encoding) {
    this._chunks.push(toBytes(data, encoding));
    return this;
  }
  sign(key, encoding) {
    const r = host('sign', this._alg, keySpec(key, 'private'), bytesToBase64(concat(this._chunks)));
    if (typeof r !== 'string' || r[0] === '!')
      throw new Error(typeof r === 'string' ? r.slice(1) : 'sign failed');
    const bytes = base64ToBytes(r, false);
    if (encoding === 'base64') return r;
    if (encoding === 'hex' || encoding === 'base64url' || encoding === 'latin1') {
      return toBuffer(bytes).toString(encoding);
    }
    return toBuffer(bytes);
  }
  verify(key, signature, encoding) {
    const sig = bytesToBase64(toBytes(signature, encoding));
    const r = host(
      'verify',
      this._alg,
      keySpec(key, 'public'),
      bytesToBase64(concat(this._chunks)),
      sig,
    );
    if (typeof r !== 'string' || r[0] === '!')
      throw new Error(typeof r === 'string' ? r.slice(1) : 'verify failed');
    return r === '1';
  }
}

const crypto = {
  createHash: (alg) => new Hash(alg),
  createHmac: (alg, key) => new Hash(alg, keyToBase64(key)),
  randomUUID: () => host('uuid'),
  randomBytes(size, cb) {
    const n = Number(size);
    if (!(n >= 0 && n <= 65536)) throw new RangeError('size must be between 0 and 65536');
    const bytes = toBuffer(base64ToBytes(host('random', n), false));
    if (typeof cb === 'function') {
      OrigPromise.resolve().then(() => cb(null, bytes));
      return undefined;
    }
    return bytes;
  },
  getRandomValues(arr) {
    if (!ArrayBuffer.isView(arr) || arr.byteLength > 65536) {
      throw new TypeError('getRandomValues expects an integer TypedArray of at most 65536 bytes');
    }
    const bytes = base64ToBytes(host('random', arr.byteLength), false);
    new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength).set(bytes);
    return arr;
  },
  timingSafeEqual(a, b) {
    const x = toBytes(a);
    const y = toBytes(b);
    if (x.length !== y.length) throw new RangeError('Input buffers must have the same byte length');
    let diff = 0;
    for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
    return diff === 0;
  },
  getHashes: () => ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'],
  createSign: (alg) => new Sign(alg),
  createVerify: (alg) => new Sign(alg, true),
  createSecretKey(key, encoding) {
    return new KeyObject('secret', { _bytes: toBytes(key, encoding).slice() });
  },
  createPrivateKey: (key) => asymmetricKey('private', key),
  createPublicKey: (key) => asymmetricKey('public', key),
  KeyObject,
  constants: {
    RSA_PKCS1_PADDING: 1,
    RSA_PKCS1_PSS_PADDING: 6,
    RSA_PSS_SALTLEN_DIGEST: -1,
    RSA_PSS_SALTLEN_MAX_SIGN: -2,
    RSA_PSS_SALTLEN_AUTO: -2,
  },
};
hidden(G, 'crypto', crypto);
