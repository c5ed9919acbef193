// Prelude, piece 70: fetch and the node-fetch v2 classes (Headers, Request,
// Response, FetchError as fetch.FetchError).
//
// Rules kept here: the request description handed to the host is built by hand
// from primitive strings with the intrinsics captured in 00 (see `fetch`), so that
// nothing the code defined (a method, a toJSON) shapes what the host receives; the
// host parses and checks it again (host/bridge.js, fetchSpec), and so does Python.
// The answer comes back as a message ('f', see 95-dispatch) settled by `settleFetch`.
// Uses: G, MapC, OrigPromise, apply, hidden, host, isArray, map*, parse, stringify
// (00); FetchError (10); the byte helpers (30); URLSearchParams, parseURL (40).
//
// The name/value pairs of a Headers object, read with captured intrinsics only.
const mapForEach = Map.prototype.forEach;
function headerPairs(headers) {
  const out = [];
  const map = headers instanceof Headers ? headers._map : undefined;
  if (!(map instanceof MapC)) return out;
  apply(mapForEach, map, [
    (entry) => {
      if (!isArray(entry) || !isArray(entry[1])) return;
      const values = entry[1];
      for (let i = 0; i < values.length; i++) out[out.length] = ['' + entry[0], '' + values[i]];
    },
  ]);
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
    let bytes =
      init.body !== undefined ? bodyToBytes(init.body, this.headers) : from ? from._bytes : null;
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

const STATUS_TEXT = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
};

class Response extends Body {
  constructor(body = null, init = {}) {
    super();
    this.headers = new Headers(init.headers);
    this.status = init.status === undefined ? 200 : Number(init.status);
    this.statusText =
      init.statusText === undefined ? STATUS_TEXT[this.status] || '' : String(init.statusText);
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
      status: this.status,
      statusText: this.statusText,
      headers: this.headers,
      url: this.url,
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
      list +=
        (i === 0 ? '[' : ',[') +
        stringify('' + pairs[i][0]) +
        ',' +
        stringify('' + pairs[i][1]) +
        ']';
    }
    const bytes = req._bytes;
    const follow = req.follow | 0;
    const timeout = req.timeout | 0;
    const spec =
      '{"method":' +
      stringify('' + req.method) +
      ',"url":' +
      stringify('' + req.url) +
      ',"headers":[' +
      list +
      '],"body":' +
      (bytes === null || bytes === undefined ? 'null' : stringify(bytesToBase64(bytes))) +
      ',"redirect":' +
      stringify('' + req.redirect) +
      ',"follow":' +
      (follow < 0 ? 20 : follow) +
      ',"timeout":' +
      (timeout < 0 ? 0 : timeout) +
      '}';
    const id = nextFetch++;
    const r = host('fetch', id, spec);
    if (r === -3) {
      reject(
        new FetchError(
          'request to ' +
            req.url +
            ' failed, reason: invalid request ' +
            '(at most 100 headers of 8 KB, a 5 MB body)',
        ),
      );
      return;
    }
    if (r === -2) {
      reject(
        new FetchError(
          'request to ' + req.url + ' failed, reason: too many requests ' + 'in one invocation',
        ),
      );
      return;
    }
    if (r !== 0) {
      reject(
        new FetchError(
          'request to ' +
            req.url +
            ' failed, reason: fetch is only ' +
            'available while the function is running',
        ),
      );
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
    const err = new FetchError(
      'request to ' + url + ' failed, reason: ' + (res && res.error ? res.error : 'unknown'),
    );
    err.type = 'system';
    err.code = (res && res.code) || 'EFETCH';
    err.errno = err.code;
    reject(err);
    return;
  }
  const response = new Response(null, {
    status: res.status,
    statusText: res.statusText,
    headers: res.headers,
    url: res.url,
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
