// Evaluated inside every function's context before the user's code. The script's
// value is the installer, which the host calls once with the bridge: the only
// host function this context ever sees. It stays in this closure and is never
// stored on an object, passed to user code or returned. Everything below (error
// classes, console, fetch, crypto, timers, cache, URL...) is built from this
// realm's own intrinsics, captured before user code can replace them.
(function install(bridge, maxCacheEntries) {
  'use strict';
  const G = globalThis;
  // Callbacks of FinalizationRegistry (and WeakRef targets vanishing) run after the
  // invocation ended, outside every time limit: functions do not get them.
  delete G.FinalizationRegistry;
  delete G.WeakRef;
  const { parse, stringify } = JSON;
  const OrigPromise = Promise;
  const promiseThen = Promise.prototype.then;
  const apply = Reflect.apply;
  const defineProperty = Object.defineProperty;
  const getPrototypeOf = Object.getPrototypeOf;
  const isArray = Array.isArray;
  const fromCharCode = String.fromCharCode;
  const now = Date.now;
  const MapC = Map;
  const mapGet = Map.prototype.get;
  const mapSet = Map.prototype.set;
  const mapDelete = Map.prototype.delete;
  const mapHas = Map.prototype.has;

  // The bridge never throws by design; if it did (stack exhaustion), drop the
  // host's error object here and throw one of our own.
  function host(op, a, b, c, d, e) {
    let r;
    try {
      r = bridge(op, a, b, c, d, e);
    } catch (_) {
      r = undefined;
    }
    if (typeof r !== 'string' && typeof r !== 'number') {
      throw new Error('runtime bridge unavailable');
    }
    return r;
  }

  function hidden(obj, name, value) {
    defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });
  }

  // ------------------------------------------------------------ error classes
  function errorClass(name) {
    const C = class extends Error {
      constructor(message) {
        super(message);
        this.name = name;
      }
    };
    defineProperty(C, 'name', { value: name });
    return C;
  }
  const EventNotSupported = errorClass('EventNotSupported');
  const InvalidEventPayload = errorClass('InvalidEventPayload');
  const ValidationError = errorClass('ValidationError');
  const RetryError = errorClass('RetryError');
  const DropEvent = errorClass('DropEvent');
  const InvalidSettings = errorClass('InvalidSettings');
  const FetchError = errorClass('FetchError');
  for (const C of [EventNotSupported, InvalidEventPayload, ValidationError, RetryError,
    DropEvent, InvalidSettings]) hidden(G, C.name, C);

  const OUTCOME_BY_NAME = {
    __proto__: null,
    EventNotSupported: 'unsupported_event_type',
    InvalidEventPayload: 'message_rejected',
    ValidationError: 'message_rejected',
    RetryError: 'retry',
    DropEvent: 'dropped',
    InvalidSettings: 'invalid_settings',
  };

  function classify(e) {
    let outcome = 'bad_request';
    let type = 'Error';
    let message = '';
    try {
      if (e instanceof EventNotSupported) outcome = 'unsupported_event_type';
      else if (e instanceof InvalidEventPayload || e instanceof ValidationError) {
        outcome = 'message_rejected';
      } else if (e instanceof RetryError) outcome = 'retry';
      else if (e instanceof DropEvent) outcome = 'dropped';
      else if (e instanceof InvalidSettings) outcome = 'invalid_settings';
      if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
        const ctor = e.constructor;
        const name = (ctor && typeof ctor.name === 'string' && ctor.name) || String(e.name);
        type = name || 'Error';
        if (outcome === 'bad_request' && OUTCOME_BY_NAME[type]) outcome = OUTCOME_BY_NAME[type];
        message = e.message === undefined ? String(e) : String(e.message);
      } else {
        message = String(e);
      }
    } catch (_) {
      message = 'an unprintable value was thrown';
    }
    return [outcome, String(type).slice(0, 200), message];
  }

  // ------------------------------------------------------------ console
  function inspect(v, depth, seen) {
    switch (typeof v) {
      case 'string': return depth === 0 ? v : "'" + v + "'";
      case 'function': return '[Function: ' + (v.name || '(anonymous)') + ']';
      case 'symbol': return v.toString();
      case 'bigint': return v + 'n';
      case 'object': break;
      default: return String(v);
    }
    if (v === null) return 'null';
    if (v instanceof Error) return v.stack ? String(v.stack) : v.name + ': ' + v.message;
    if (v instanceof Date) return v.toISOString();
    if (seen.indexOf(v) !== -1) return '[Circular]';
    if (depth > 3) return isArray(v) ? '[Array]' : '[Object]';
    seen.push(v);
    let out;
    if (isArray(v)) {
      const items = [];
      for (let i = 0; i < v.length && i < 100; i++) items.push(inspect(v[i], depth + 1, seen));
      if (v.length > 100) items.push('... ' + (v.length - 100) + ' more items');
      out = '[ ' + items.join(', ') + ' ]';
      if (items.length === 0) out = '[]';
    } else {
      const keys = Object.keys(v);
      const items = [];
      for (let i = 0; i < keys.length && i < 100; i++) {
        const k = keys[i];
        items.push((/^[A-Za-z_$][\w$]*$/.test(k) ? k : "'" + k + "'") + ': ' +
          inspect(v[k], depth + 1, seen));
      }
      if (keys.length > 100) items.push('... ' + (keys.length - 100) + ' more keys');
      out = items.length === 0 ? '{}' : '{ ' + items.join(', ') + ' }';
    }
    seen.pop();
    return out;
  }

  function format(args) {
    const parts = [];
    for (let i = 0; i < args.length; i++) {
      try {
        parts.push(inspect(args[i], 0, []));
      } catch (_) {
        parts.push('[uninspectable]');
      }
    }
    return parts.join(' ');
  }

  const consoleObject = {};
  for (const [name, level] of [['log', 'log'], ['info', 'info'], ['warn', 'warn'],
    ['error', 'error'], ['debug', 'debug'], ['trace', 'debug'], ['dir', 'log']]) {
    consoleObject[name] = function (...args) {
      host('log', level, format(args));
    };
  }
  hidden(G, 'console', consoleObject);

  // ------------------------------------------------------------ bytes
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
    const clean = String(s).replace(/[\t\n\f\r ]+/g, '').replace(/=+$/, '');
    if (strict && (clean.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(clean))) {
      throw new DOMExceptionLike('The string to be decoded is not correctly encoded.',
        'InvalidCharacterError');
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
        out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63),
          0x80 | (c & 63));
      }
    }
    return new Uint8Array(out);
  }

  function utf8Decode(bytes) {
    let out = '';
    let chunk = [];
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      let c = 0xfffd;
      let n = 1;
      if (b < 0x80) c = b;
      else if (b >= 0xc2 && b < 0xe0 && i + 1 < bytes.length && (bytes[i + 1] & 0xc0) === 0x80) {
        c = ((b & 31) << 6) | (bytes[i + 1] & 63);
        n = 2;
      } else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length &&
        (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80) {
        c = ((b & 15) << 12) | ((bytes[i + 1] & 63) << 6) | (bytes[i + 2] & 63);
        n = 3;
        if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) c = 0xfffd;
      } else if (b >= 0xf0 && b < 0xf5 && i + 3 < bytes.length &&
        (bytes[i + 1] & 0xc0) === 0x80 && (bytes[i + 2] & 0xc0) === 0x80 &&
        (bytes[i + 3] & 0xc0) === 0x80) {
        c = ((b & 7) << 18) | ((bytes[i + 1] & 63) << 12) | ((bytes[i + 2] & 63) << 6) |
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
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
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
    return typeof Buf === 'function' && Buf.from ? Buf.from(bytes.buffer, bytes.byteOffset,
      bytes.byteLength) : bytes;
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

  // ------------------------------------------------------------ URL
  // Parsing is done by the host's WHATWG parser: text in, JSON text out.
  const URL_KEYS = ['href', 'protocol', 'username', 'password', 'host', 'hostname', 'port',
    'pathname', 'search', 'hash', 'origin'];

  function parseURL(input, base) {
    const r = base === undefined ? host('url', String(input)) : host('url', String(input), String(base));
    if (typeof r !== 'string') throw new TypeError('Invalid URL');
    if (r[0] === '!') {
      const err = new TypeError(r.slice(1));
      err.code = 'ERR_INVALID_URL';
      throw err;
    }
    return parse(r);
  }

  class URLSearchParams {
    constructor(init) {
      this._list = [];
      this._url = null;
      if (init === undefined || init === null) return;
      if (typeof init === 'object' && init instanceof URLSearchParams) {
        this._list = init._list.map((p) => [p[0], p[1]]);
      } else if (typeof init === 'object') {
        if (typeof init[Symbol.iterator] === 'function') {
          for (const pair of init) {
            const p = [...pair];
            if (p.length !== 2) throw new TypeError('Each query pair must be [name, value]');
            this._list.push([String(p[0]), String(p[1])]);
          }
        } else {
          for (const k of Object.keys(init)) this._list.push([k, String(init[k])]);
        }
      } else {
        this._parse(String(init));
      }
    }
    _parse(s) {
      this._list = [];
      if (s[0] === '?') s = s.slice(1);
      for (const part of s.split('&')) {
        if (part === '') continue;
        const eq = part.indexOf('=');
        const k = eq === -1 ? part : part.slice(0, eq);
        const v = eq === -1 ? '' : part.slice(eq + 1);
        this._list.push([decodeForm(k), decodeForm(v)]);
      }
    }
    _update() {
      if (this._url !== null) {
        const q = this.toString();
        this._url._set({ search: q ? '?' + q : '' });
      }
    }
    append(k, v) {
      this._list.push([String(k), String(v)]);
      this._update();
    }
    delete(k) {
      k = String(k);
      this._list = this._list.filter((p) => p[0] !== k);
      this._update();
    }
    get(k) {
      k = String(k);
      for (const p of this._list) if (p[0] === k) return p[1];
      return null;
    }
    getAll(k) {
      k = String(k);
      return this._list.filter((p) => p[0] === k).map((p) => p[1]);
    }
    has(k) {
      k = String(k);
      return this._list.some((p) => p[0] === k);
    }
    set(k, v) {
      k = String(k);
      v = String(v);
      const i = this._list.findIndex((p) => p[0] === k);
      if (i === -1) this._list.push([k, v]);
      else {
        this._list[i][1] = v;
        this._list = this._list.filter((p, j) => j <= i || p[0] !== k);
      }
      this._update();
    }
    sort() {
      this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this._update();
    }
    forEach(fn, thisArg) {
      for (const [k, v] of this._list) apply(fn, thisArg, [v, k, this]);
    }
    keys() {
      return this._list.map((p) => p[0])[Symbol.iterator]();
    }
    values() {
      return this._list.map((p) => p[1])[Symbol.iterator]();
    }
    entries() {
      return this._list.map((p) => [p[0], p[1]])[Symbol.iterator]();
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    get size() {
      return this._list.length;
    }
    toString() {
      return this._list.map((p) => encodeForm(p[0]) + '=' + encodeForm(p[1])).join('&');
    }
  }

  function encodeForm(s) {
    return encodeURIComponent(s).replace(/%20/g, '+').replace(/[!'()~]/g,
      (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  }
  function decodeForm(s) {
    const t = s.replace(/\+/g, ' ');
    try {
      return decodeURIComponent(t);
    } catch (_) {
      return t;
    }
  }

  class URL {
    constructor(input, base) {
      this._parts = parseURL(input, base === undefined ? undefined : String(base));
      this._params = new URLSearchParams(this._parts[8]);
      this._params._url = this;
    }
    _set(change) {
      const p = this._parts;
      // Rebuild the URL text with the change and let the host parser normalise it.
      const parts = {
        protocol: p[1], username: p[2], password: p[3], host: p[4], pathname: p[7],
        search: p[8], hash: p[9],
      };
      Object.assign(parts, change);
      const auth = parts.username || parts.password
        ? parts.username + (parts.password ? ':' + parts.password : '') + '@' : '';
      const special = /^(https?|wss?|ftp|file):$/.test(parts.protocol);
      const text = parts.protocol + (special || parts.host ? '//' : '') + auth + parts.host +
        parts.pathname + parts.search + parts.hash;
      this._parts = parseURL(text);
      if (!('search' in change)) this._params._parse(this._parts[8]);
    }
    get href() {
      return this._parts[0];
    }
    set href(v) {
      this._parts = parseURL(v);
      this._params._parse(this._parts[8]);
    }
    get protocol() {
      return this._parts[1];
    }
    set protocol(v) {
      this._set({ protocol: String(v).replace(/:?$/, ':') });
    }
    get username() {
      return this._parts[2];
    }
    set username(v) {
      this._set({ username: encodeURIComponent(String(v)) });
    }
    get password() {
      return this._parts[3];
    }
    set password(v) {
      this._set({ password: encodeURIComponent(String(v)) });
    }
    get host() {
      return this._parts[4];
    }
    set host(v) {
      this._set({ host: String(v) });
    }
    get hostname() {
      return this._parts[5];
    }
    set hostname(v) {
      const port = this._parts[6];
      this._set({ host: String(v) + (port ? ':' + port : '') });
    }
    get port() {
      return this._parts[6];
    }
    set port(v) {
      const s = String(v);
      this._set({ host: this._parts[5] + (s ? ':' + s : '') });
    }
    get pathname() {
      return this._parts[7];
    }
    set pathname(v) {
      let s = String(v);
      if (s[0] !== '/') s = '/' + s;
      this._set({ pathname: s });
    }
    get search() {
      return this._parts[8];
    }
    set search(v) {
      let s = String(v);
      if (s && s[0] !== '?') s = '?' + s;
      this._set({ search: s === '?' ? '' : s });
      this._params._parse(this._parts[8]);
    }
    get hash() {
      return this._parts[9];
    }
    set hash(v) {
      let s = String(v);
      if (s && s[0] !== '#') s = '#' + s;
      this._set({ hash: s === '#' ? '' : s });
    }
    get origin() {
      return this._parts[10];
    }
    get searchParams() {
      return this._params;
    }
    toString() {
      return this._parts[0];
    }
    toJSON() {
      return this._parts[0];
    }
    static canParse(input, base) {
      try {
        parseURL(input, base);
        return true;
      } catch (_) {
        return false;
      }
    }
  }
  hidden(G, 'URL', URL);
  hidden(G, 'URLSearchParams', URLSearchParams);

  // ------------------------------------------------------------ stack traces
  // Below the user's frames are the runtime's own (the worker's dispatch, with host
  // paths and function names, the prelude): stacks show only the function's code
  // (handler.js), the libraries (lib:...) and built-ins. A prepareStackTrace the code
  // installs gets the same frames (reading the property back gives a wrapper; setting
  // that wrapper again restores the function it wraps). Unset, it reads as the
  // runtime's formatter (Node calls whatever the realm's property holds).
  const ErrorC = Error;
  const errorToString = Error.prototype.toString;
  function visibleFrames(frames) {
    const out = [];
    if (!isArray(frames)) return out;
    for (let i = 0; i < frames.length; i++) {
      let file;
      try {
        file = frames[i].getFileName();
      } catch (_) {
        continue;
      }
      if (file === undefined || file === null || file === 'handler.js' ||
        (typeof file === 'string' && file.length > 4 && file[0] === 'l' && file[1] === 'i' &&
          file[2] === 'b' && file[3] === ':')) {
        out[out.length] = frames[i];
      }
    }
    return out;
  }
  function formatStack(err, frames) {
    let text;
    try {
      text = '' + apply(errorToString, err, []);
    } catch (_) {
      text = 'Error';
    }
    const shown = visibleFrames(frames);
    for (let i = 0; i < shown.length; i++) {
      let line;
      try {
        line = '' + shown[i];
      } catch (_) {
        line = '<unknown>';
      }
      text += '\n    at ' + line;
    }
    return text;
  }
  let userPrepare;
  const wrappers = new WeakMap();
  const wrapped = new WeakMap(); // wrapper -> the code's function
  defineProperty(ErrorC, 'prepareStackTrace', {
    configurable: false,
    enumerable: false,
    get() {
      const fn = userPrepare;
      if (fn === undefined) return formatStack; // Node formats stacks with it
      if (typeof fn !== 'function') return fn;
      let w = wrappers.get(fn);
      if (w === undefined) {
        w = function prepareStackTrace(err, frames) {
          return apply(fn, this, [err, visibleFrames(frames)]);
        };
        wrappers.set(fn, w);
        wrapped.set(w, fn);
      }
      return w;
    },
    set(fn) {
      userPrepare = fn === formatStack || fn === null ? undefined
        : typeof fn === 'function' && wrapped.has(fn) ? wrapped.get(fn) : fn;
    },
  });

  // ------------------------------------------------------------ timers
  // Timers are kept by the host per invocation: capped in number and delay, and
  // cancelled when the invocation ends.
  const timers = new MapC();
  let nextTimer = 1;
  // A handle like Node's Timeout (node-fetch-era code calls `.unref()` on it), built
  // in this realm; it converts to its number, so `clearTimeout(+id)` still works.
  const TIMER_ID = Symbol('id');
  class Timeout {
    constructor(id) {
      defineProperty(this, TIMER_ID, { value: id });
    }
    ref() { return this; }
    unref() { return this; }
    hasRef() { return true; }
    refresh() { return this; }
    close() { clearTimer(this); return this; }
    [Symbol.toPrimitive]() { return this[TIMER_ID]; }
  }
  function addTimer(fn, ms, args, repeat) {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
    const id = nextTimer++;
    const delay = Number(ms) > 0 ? Number(ms) : 0;
    const r = host('timer', id, delay, repeat ? 1 : 0);
    if (r === -2) throw new RangeError('Too many pending timers in this invocation');
    if (r !== 0) throw new Error('Timers can only be used while the function is running');
    apply(mapSet, timers, [id, { fn, args, repeat }]);
    return new Timeout(id);
  }
  function clearTimer(handle) {
    const id = handle instanceof Timeout ? handle[TIMER_ID]
      : typeof handle === 'string' ? Number(handle) : handle;
    if (typeof id === 'number') {
      apply(mapDelete, timers, [id]);
      host('clear', id);
    }
  }
  hidden(G, 'setTimeout', (fn, ms, ...args) => addTimer(fn, ms, args, false));
  hidden(G, 'setInterval', (fn, ms, ...args) => addTimer(fn, ms, args, true));
  hidden(G, 'setImmediate', (fn, ...args) => addTimer(fn, 0, args, false));
  hidden(G, 'clearTimeout', clearTimer);
  hidden(G, 'clearInterval', clearTimer);
  hidden(G, 'clearImmediate', clearTimer);
  hidden(G, 'queueMicrotask', (fn) => {
    if (typeof fn !== 'function') throw new TypeError('The "callback" argument must be a function');
    apply(promiseThen, OrigPromise.resolve(), [() => fn()]);
  });

  function fireTimer(id) {
    const t = apply(mapGet, timers, [id]);
    if (t === undefined) return;
    if (!t.repeat) apply(mapDelete, timers, [id]);
    try {
      apply(t.fn, undefined, t.args);
    } catch (e) {
      const [, type, message] = classify(e);
      host('log', 'error', 'Uncaught exception in timer callback: ' + type + ': ' + message);
    }
  }

  // ------------------------------------------------------------ fetch
  // The name/value pairs of a Headers object, read with captured intrinsics only.
  const mapForEach = Map.prototype.forEach;
  function headerPairs(headers) {
    const out = [];
    const map = headers instanceof Headers ? headers._map : undefined;
    if (!(map instanceof MapC)) return out;
    apply(mapForEach, map, [(entry) => {
      if (!isArray(entry) || !isArray(entry[1])) return;
      const values = entry[1];
      for (let i = 0; i < values.length; i++) out[out.length] = ['' + entry[0], '' + values[i]];
    }]);
    return out;
  }

  class Headers {
    constructor(init) {
      this._map = new MapC(); // lower-case name -> [name, values[]]
      if (init === undefined || init === null) return;
      if (init instanceof Headers) {
        for (const [k, v] of init.entries()) this.append(k, v);
      } else if (typeof init[Symbol.iterator] === 'function') {
        for (const pair of init) {
          const p = [...pair];
          if (p.length !== 2) throw new TypeError('Header pairs must contain exactly two items');
          this.append(p[0], p[1]);
        }
      } else {
        for (const k of Object.keys(init)) {
          const v = init[k];
          if (isArray(v)) for (const x of v) this.append(k, x);
          else this.append(k, v);
        }
      }
    }
    _check(name) {
      name = String(name);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
        throw new TypeError(`${name} is not a legal HTTP header name`);
      }
      return name;
    }
    _value(v) {
      v = String(v).trim();
      if (/[\r\n\0]/.test(v)) throw new TypeError(`${v} is not a legal HTTP header value`);
      return v;
    }
    append(name, value) {
      name = this._check(name);
      value = this._value(value);
      const k = name.toLowerCase();
      const e = apply(mapGet, this._map, [k]);
      if (e) e[1].push(value);
      else apply(mapSet, this._map, [k, [name, [value]]]);
    }
    set(name, value) {
      name = this._check(name);
      apply(mapSet, this._map, [name.toLowerCase(), [name, [this._value(value)]]]);
    }
    get(name) {
      const e = apply(mapGet, this._map, [String(name).toLowerCase()]);
      return e ? e[1].join(', ') : null;
    }
    has(name) {
      return apply(mapHas, this._map, [String(name).toLowerCase()]);
    }
    delete(name) {
      apply(mapDelete, this._map, [String(name).toLowerCase()]);
    }
    raw() {
      const out = {};
      for (const [, [name, values]] of this._map) out[name] = values.slice();
      return out;
    }
    forEach(fn, thisArg) {
      for (const [k, v] of this.entries()) apply(fn, thisArg, [v, k, this]);
    }
    *entries() {
      const keys = [...this._map.keys()].sort();
      for (const k of keys) yield [k, this.get(k)];
    }
    *keys() {
      for (const [k] of this.entries()) yield k;
    }
    *values() {
      for (const [, v] of this.entries()) yield v;
    }
    [Symbol.iterator]() {
      return this.entries();
    }
    _pairs() {
      const out = [];
      for (const [, [name, values]] of this._map) for (const v of values) out.push([name, v]);
      return out;
    }
  }

  // Request and response bodies: kept as bytes (Uint8Array) or text.
  function bodyToBytes(body, headers) {
    if (body === undefined || body === null) return null;
    if (typeof body === 'string') {
      if (!headers.has('content-type')) headers.set('Content-Type', 'text/plain;charset=UTF-8');
      return utf8Encode(body);
    }
    if (body instanceof URLSearchParams) {
      if (!headers.has('content-type')) {
        headers.set('Content-Type', 'application/x-www-form-urlencoded;charset=UTF-8');
      }
      return utf8Encode(body.toString());
    }
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return toBytes(body);
    if (typeof body.getBuffer === 'function' && typeof body.getBoundary === 'function') {
      // form-data's FormData: multipart body with its boundary.
      if (!headers.has('content-type')) {
        headers.set('Content-Type', 'multipart/form-data; boundary=' + body.getBoundary());
      }
      return toBytes(body.getBuffer());
    }
    return utf8Encode(String(body));
  }

  class Body {
    _initBody(bytes) {
      this._bytes = bytes;
      this.bodyUsed = false;
    }
    _consume() {
      if (this.bodyUsed) {
        return OrigPromise.reject(new TypeError(`body used already for: ${this.url}`));
      }
      this.bodyUsed = true;
      return OrigPromise.resolve(this._bytes || new Uint8Array(0));
    }
    text() {
      return this._consume().then(utf8Decode);
    }
    json() {
      return this._consume().then((b) => {
        const text = utf8Decode(b);
        try {
          return parse(text);
        } catch (e) {
          throw new FetchError(`invalid json response body at ${this.url} reason: ${e.message}`);
        }
      });
    }
    buffer() {
      return this._consume().then(toBuffer);
    }
    arrayBuffer() {
      return this._consume().then((b) => b.slice().buffer);
    }
  }

  class Request extends Body {
    constructor(input, init = {}) {
      super();
      const from = input instanceof Request ? input : null;
      const url = from ? from.url : String(input);
      const parsed = parseURL(url);
      this.url = parsed[0];
      this.method = String(init.method || (from && from.method) || 'GET').toUpperCase();
      this.headers = new Headers(init.headers || (from && from.headers) || undefined);
      this.redirect = String(init.redirect || (from && from.redirect) || 'follow');
      this.follow = init.follow === undefined ? 20 : Number(init.follow);
      this.timeout = Number(init.timeout) || 0;
      let bytes = init.body !== undefined ? bodyToBytes(init.body, this.headers)
        : from ? from._bytes : null;
      if ((this.method === 'GET' || this.method === 'HEAD') && bytes !== null) {
        throw new TypeError('Request with GET/HEAD method cannot have body');
      }
      if (bytes === undefined) bytes = null;
      this._initBody(bytes);
    }
    clone() {
      return new Request(this);
    }
  }

  const STATUS_TEXT = { 200: 'OK', 201: 'Created', 204: 'No Content', 400: 'Bad Request',
    401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };

  class Response extends Body {
    constructor(body = null, init = {}) {
      super();
      this.headers = new Headers(init.headers);
      this.status = init.status === undefined ? 200 : Number(init.status);
      this.statusText = init.statusText === undefined ? STATUS_TEXT[this.status] || ''
        : String(init.statusText);
      this.url = init.url === undefined ? '' : String(init.url);
      this.redirected = Boolean(init.redirected);
      this._initBody(body === null ? null : bodyToBytes(body, this.headers));
    }
    get ok() {
      return this.status >= 200 && this.status < 300;
    }
    clone() {
      if (this.bodyUsed) throw new Error('cannot clone body after it is used');
      return new Response(this._bytes, {
        status: this.status, statusText: this.statusText, headers: this.headers, url: this.url,
        redirected: this.redirected,
      });
    }
  }

  const pendingFetches = new MapC();
  let nextFetch = 1;

  function fetch(input, init) {
    return new OrigPromise((resolve, reject) => {
      const req = new Request(input, init);
      // The request description is built by hand from primitive strings, with
      // intrinsics captured before user code ran (no method user code can replace,
      // no toJSON), so that nothing the code defined shapes what the host receives.
      // The host parses and checks it again anyway.
      const pairs = headerPairs(req.headers);
      let list = '';
      for (let i = 0; i < pairs.length; i++) {
        list += (i === 0 ? '[' : ',[') + stringify('' + pairs[i][0]) + ',' +
          stringify('' + pairs[i][1]) + ']';
      }
      const bytes = req._bytes;
      const follow = req.follow | 0;
      const timeout = req.timeout | 0;
      const spec = '{"method":' + stringify('' + req.method) + ',"url":' +
        stringify('' + req.url) + ',"headers":[' + list + '],"body":' +
        (bytes === null || bytes === undefined ? 'null' : stringify(bytesToBase64(bytes))) +
        ',"redirect":' + stringify('' + req.redirect) + ',"follow":' + (follow < 0 ? 20 : follow) +
        ',"timeout":' + (timeout < 0 ? 0 : timeout) + '}';
      const id = nextFetch++;
      const r = host('fetch', id, spec);
      if (r === -3) {
        reject(new FetchError('request to ' + req.url + ' failed, reason: invalid request ' +
          '(at most 100 headers of 8 KB, a 5 MB body)'));
        return;
      }
      if (r === -2) {
        reject(new FetchError('request to ' + req.url + ' failed, reason: too many requests ' +
          'in one invocation'));
        return;
      }
      if (r !== 0) {
        reject(new FetchError('request to ' + req.url + ' failed, reason: fetch is only ' +
          'available while the function is running'));
        return;
      }
      apply(mapSet, pendingFetches, [id, [resolve, reject, req.url]]);
    });
  }

  function settleFetch(id, res) {
    const p = apply(mapGet, pendingFetches, [id]);
    if (p === undefined) return;
    apply(mapDelete, pendingFetches, [id]);
    const [resolve, reject, url] = p;
    if (res === null || typeof res !== 'object' || typeof res.error === 'string') {
      const err = new FetchError('request to ' + url + ' failed, reason: ' +
        (res && res.error ? res.error : 'unknown'));
      err.type = 'system';
      err.code = (res && res.code) || 'EFETCH';
      err.errno = err.code;
      reject(err);
      return;
    }
    const response = new Response(null, {
      status: res.status, statusText: res.statusText, headers: res.headers, url: res.url,
      redirected: res.redirected,
    });
    response._bytes = base64ToBytes(res.body || '', false);
    resolve(response);
  }

  hidden(G, 'fetch', fetch);
  hidden(G, 'Headers', Headers);
  hidden(G, 'Request', Request);
  hidden(G, 'Response', Response);
  hidden(fetch, 'Headers', Headers);
  hidden(fetch, 'Request', Request);
  hidden(fetch, 'Response', Response);
  hidden(fetch, 'FetchError', FetchError);

  // ------------------------------------------------------------ crypto
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
      const r = this._key === undefined ? host('hash', this._alg, data, enc || 'base64')
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
      return other instanceof KeyObject && other.type === this.type &&
        (this.type === 'secret' ? bytesToBase64(this._bytes) === bytesToBase64(other._bytes)
          : this._pem === other._pem);
    }
  }

  function keyText(input) {
    if (typeof input === 'string') return [input, ''];
    if (input instanceof KeyObject) return [input._pem, ''];
    if (input instanceof ArrayBuffer || ArrayBuffer.isView(input)) return [utf8Decode(toBytes(input)), ''];
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
    return new KeyObject(info.type, { asymmetricKeyType: info.asymmetricKeyType,
      asymmetricKeyDetails: info.details, _pem: info.pem });
  }

  function keySpec(key, kind) {
    const options = key !== null && typeof key === 'object' && !(key instanceof KeyObject) &&
      !ArrayBuffer.isView(key) ? key : {};
    const k = asymmetricKey(kind, key);
    return stringify({ key: String(k._pem),
      padding: options.padding === undefined ? null : Number(options.padding),
      saltLength: options.saltLength === undefined ? null : Number(options.saltLength),
      dsaEncoding: options.dsaEncoding === undefined ? null : String(options.dsaEncoding) });
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
      if (typeof r !== 'string' || r[0] === '!') throw new Error(typeof r === 'string' ? r.slice(1) : 'sign failed');
      const bytes = base64ToBytes(r, false);
      if (encoding === 'base64') return r;
      if (encoding === 'hex' || encoding === 'base64url' || encoding === 'latin1') {
        return toBuffer(bytes).toString(encoding);
      }
      return toBuffer(bytes);
    }
    verify(key, signature, encoding) {
      const sig = bytesToBase64(toBytes(signature, encoding));
      const r = host('verify', this._alg, keySpec(key, 'public'), bytesToBase64(concat(this._chunks)), sig);
      if (typeof r !== 'string' || r[0] === '!') throw new Error(typeof r === 'string' ? r.slice(1) : 'verify failed');
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
    constants: { RSA_PKCS1_PADDING: 1, RSA_PKCS1_PSS_PADDING: 6, RSA_PSS_SALTLEN_DIGEST: -1,
      RSA_PSS_SALTLEN_MAX_SIGN: -2, RSA_PSS_SALTLEN_AUTO: -2 },
  };
  hidden(G, 'crypto', crypto);

  // ------------------------------------------------------------ cache
  // Per function (per context), bounded in entries, TTL in ms (-1: no expiry).
  // A value being computed is shared: concurrent loads await the same promise.
  const store = new MapC();
  const cache = {
    load(key, ttl, fn) {
      if (typeof ttl === 'function' && fn === undefined) {
        fn = ttl;
        ttl = -1;
      }
      if (typeof fn !== 'function') {
        return OrigPromise.reject(new TypeError('cache.load(key, ttlMs, fn): fn must be a function'));
      }
      const k = String(key);
      const t = now();
      const hit = apply(mapGet, store, [k]);
      if (hit !== undefined && (hit.expires === -1 || hit.expires > t)) return hit.promise;
      const ms = ttl === undefined || ttl === null ? -1 : Number(ttl);
      const entry = { expires: ms < 0 || ms !== ms ? -1 : t + ms, promise: null };
      entry.promise = new OrigPromise((resolve) => resolve(fn())).then(undefined, (e) => {
        if (apply(mapGet, store, [k]) === entry) apply(mapDelete, store, [k]);
        throw e;
      });
      apply(mapDelete, store, [k]);
      apply(mapSet, store, [k, entry]);
      if (store.size > maxCacheEntries) {
        // Oldest inserted entry first.
        for (const old of store.keys()) {
          apply(mapDelete, store, [old]);
          if (store.size <= maxCacheEntries) break;
        }
      }
      return entry.promise;
    },
    delete(key) {
      return apply(mapDelete, store, [String(key)]);
    },
  };
  hidden(G, 'cache', cache);

  // ------------------------------------------------------------ libraries
  // Library bundles (dist/*.js) end by calling this with their exports.
  const LIB_GLOBALS = { __proto__: null, buffer: null, lodash: '_', moment: 'moment',
    uuidv5: 'uuidv5', xml: 'xml', xml2js: 'xml2js', jsonwebtoken: 'jsonwebtoken',
    formdata: 'FormData', oauth: 'OAuth' };
  hidden(G, '__fio_define', function (name, value) {
    if (!(name in LIB_GLOBALS)) return;
    if (name === 'buffer') {
      hidden(G, 'Buffer', value.Buffer);
    } else {
      hidden(G, LIB_GLOBALS[name], value);
    }
    if (name === 'jsonwebtoken') hidden(G, 'jwt', value);
  });

  // ------------------------------------------------------------ dispatch
  let handlers = null;
  defineProperty(G, '__fio_register', {
    value(list) {
      if (handlers !== null) return;
      handlers = {
        __proto__: null, onIdentify: list[0], onTrack: list[1], onPage: list[2],
        onScreen: list[3], onGroup: list[4], onAlias: list[5], onDelete: list[6], onBatch: list[7],
      };
    },
  });

  function finish(id, outcome, type, message, resultJson) {
    host('done', id, outcome, type, message, resultJson);
  }

  function succeed(id, value) {
    let json;
    try {
      json = value === undefined ? undefined : stringify(value);
    } catch (e) {
      host('log', 'warn', '[runtime] the return value is not JSON-serializable: ' + classify(e)[2]);
      json = undefined;
    }
    finish(id, 'success', '', '', typeof json === 'string' ? json : undefined);
  }

  function fail(id, e) {
    const [outcome, type, message] = classify(e);
    finish(id, outcome, type, message, undefined);
  }

  function start(id, name, settings, payload) {
    host('enter', id);
    const fn = handlers === null ? undefined : handlers[name];
    if (typeof fn !== 'function') {
      finish(id, 'unsupported_event_type', 'EventNotSupported', `${name} is not defined`);
      return;
    }
    let p;
    try {
      p = fn(payload, settings);
    } catch (e) {
      fail(id, e);
      return;
    }
    // Settle through this realm's original Promise machinery, whatever the code
    // did to Promise.prototype.then.
    const wrapped = new OrigPromise((resolve) => resolve(p));
    apply(promiseThen, wrapped, [(v) => succeed(id, v), (e) => fail(id, e)]);
  }

  defineProperty(G, '__fio_dispatch', {
    value() {
      const raw = host('take');
      if (typeof raw !== 'string' || raw === '') return;
      const messages = parse(raw);
      for (let i = 0; i < messages.length; i++) {
        const m = messages[i];
        switch (m[0]) {
          case 'i': start(m[1], m[2], m[3], m[4]); break;
          case 'f': host('enter', m[1]); settleFetch(m[2], m[3]); break;
          case 't': host('enter', m[1]); fireTimer(m[2]); break;
          case 'c': for (const t of m[1]) apply(mapDelete, timers, [t]); break;
          default: break;
        }
      }
      host('enter', 0);
    },
  });
  void getPrototypeOf;
});
