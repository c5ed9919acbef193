// Prelude, piece 40: URL and URLSearchParams.
// Uses: G, apply, hidden, host, parse (00).
//
// Parsing is done by the host's WHATWG parser: text in, JSON text out.
// The host answers with URL_PARTS (host/bridge.js), in this order: href, protocol,
// username, password, host, hostname, port, pathname, search, hash, origin.
function parseURL(input, base) {
  const r =
    base === undefined ? host('url', String(input)) : host('url', String(input), String(base));
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
  return encodeURIComponent(s)
    .replace(/%20/g, '+')
    .replace(/[!'()~]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
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
      protocol: p[1],
      username: p[2],
      password: p[3],
      host: p[4],
      pathname: p[7],
      search: p[8],
      hash: p[9],
    };
    Object.assign(parts, change);
    const auth =
      parts.username || parts.password
        ? parts.username + (parts.password ? ':' + parts.password : '') + '@'
        : '';
    const special = /^(https?|wss?|ftp|file):$/.test(parts.protocol);
    const text =
      parts.protocol +
      (special || parts.host ? '//' : '') +
      auth +
      parts.host +
      parts.pathname +
      parts.search +
      parts.hash;
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
