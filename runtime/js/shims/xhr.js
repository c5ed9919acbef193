// XMLHttpRequest on the realm's fetch, for SDK web builds that ship their own copy
// of axios (whose browser adapter is XHR): injected into those bundles only, so that
// their requests go through the egress policy, limits and traces like fetch's.
export class XMLHttpRequest {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.statusText = '';
    this.response = null;
    this.responseText = '';
    this.responseType = '';
    this.responseURL = '';
    this.timeout = 0;
    this.withCredentials = false;
    this.upload = { addEventListener() {}, removeEventListener() {} };
    this.onreadystatechange = null;
    this.onload = null;
    this.onloadend = null;
    this.onerror = null;
    this.ontimeout = null;
    this.onabort = null;
    this._headers = [];
    this._responseHeaders = [];
    this._listeners = new Map();
    this._done = false;
  }
  open(method, url) {
    this._method = String(method).toUpperCase();
    this._url = String(url);
    this.readyState = 1;
  }
  setRequestHeader(name, value) {
    this._headers.push([String(name), String(value)]);
  }
  overrideMimeType() {}
  addEventListener(type, listener) {
    const list = this._listeners.get(type) || [];
    list.push(listener);
    this._listeners.set(type, list);
  }
  removeEventListener(type, listener) {
    const list = this._listeners.get(type) || [];
    this._listeners.set(
      type,
      list.filter((l) => l !== listener),
    );
  }
  _fire(type, detail) {
    const event = Object.assign({ type, target: this }, detail);
    const handler = this['on' + type];
    if (typeof handler === 'function') handler.call(this, event);
    for (const l of (this._listeners.get(type) || []).slice()) l.call(this, event);
  }
  _end(kinds, detail) {
    if (this._done) return;
    this._done = true;
    if (this._timer) globalThis.clearTimeout(this._timer);
    this.readyState = 4;
    this._fire('readystatechange');
    for (const kind of kinds) this._fire(kind, detail);
    this._fire('loadend');
  }
  getAllResponseHeaders() {
    return this._responseHeaders.map(([n, v]) => n + ': ' + v + '\r\n').join('');
  }
  getResponseHeader(name) {
    const key = String(name).toLowerCase();
    const values = this._responseHeaders.filter(([n]) => n === key).map(([, v]) => v);
    return values.length ? values.join(', ') : null;
  }
  abort() {
    if (this._done) return;
    this.status = 0;
    this._end(['abort']);
  }
  send(body) {
    const init = { method: this._method, headers: this._headers, redirect: 'follow' };
    if (body !== undefined && body !== null && this._method !== 'GET' && this._method !== 'HEAD') {
      init.body = body;
    }
    if (this.timeout > 0) {
      this._timer = globalThis.setTimeout(() => this._end(['timeout']), this.timeout);
    }
    let pending;
    try {
      pending = globalThis.fetch(this._url, init);
    } catch (e) {
      pending = Promise.reject(e);
    }
    pending
      .then(async (res) => {
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (this._done) return;
        this.status = res.status;
        this.statusText = res.statusText;
        this.responseURL = res.url;
        const raw = res.headers.raw();
        for (const name of Object.keys(raw)) {
          for (const v of raw[name]) this._responseHeaders.push([name, v]);
        }
        const text = new TextDecoder().decode(bytes);
        if (this.responseType === 'arraybuffer') this.response = bytes.buffer;
        else if (this.responseType === 'json') {
          this.responseText = text;
          try {
            this.response = JSON.parse(text);
          } catch (_) {
            this.response = null;
          }
        } else {
          this.responseText = text;
          this.response = text;
        }
        this._end(['load']);
      })
      .catch((err) => {
        this.status = 0;
        this._end(['error'], { message: err && err.message ? err.message : 'Network Error' });
      });
  }
}
// The state names, on the class and on every instance (`this.DONE`), as in browsers.
for (const [name, value] of [
  ['UNSENT', 0],
  ['OPENED', 1],
  ['HEADERS_RECEIVED', 2],
  ['LOADING', 3],
  ['DONE', 4],
]) {
  XMLHttpRequest[name] = value;
  XMLHttpRequest.prototype[name] = value;
}
