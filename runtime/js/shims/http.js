// Node's http/https client (request, get) carried out with the realm's fetch, so
// that every request -- the `https` global's, node-oauth's and the SDKs' -- goes
// through the same egress policy, limits and tracing as fetch itself. Redirects are
// not followed (Node's client does not follow them either).
const EventEmitter = require('events');

const STATUS_CODES = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  301: 'Moved Permanently',
  302: 'Found',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

function toChunk(chunk, encoding) {
  const B = globalThis.Buffer;
  if (typeof chunk === 'string') return B.from(chunk, encoding || 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk))
    return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(
    'The "chunk" argument must be of type string or an instance of Buffer or Uint8Array',
  );
}

// The response: an EventEmitter readable the ways library code reads Node's
// IncomingMessage ('data'/'end' events, setEncoding, pipe, for await).
function incoming(res, body) {
  const msg = new EventEmitter();
  msg.statusCode = res.status;
  msg.statusMessage = res.statusText || STATUS_CODES[res.status] || '';
  msg.httpVersion = '1.1';
  msg.headers = {};
  msg.rawHeaders = [];
  const raw = res.headers.raw();
  for (const name of Object.keys(raw)) {
    const values = raw[name];
    for (const v of values) msg.rawHeaders.push(name, v);
    msg.headers[name] = name === 'set-cookie' ? values.slice() : values.join(', ');
  }
  let encoding = null;
  let delivered = false;
  msg.complete = false;
  msg.setEncoding = (e) => {
    encoding = e;
    return msg;
  };
  msg.resume = () => msg;
  msg.pause = () => msg;
  msg.destroy = () => msg;
  msg.setTimeout = () => msg;
  msg.pipe = (dest) => {
    msg.on('data', (chunk) => dest.write(chunk));
    msg.on('end', () => dest.end && dest.end());
    return dest;
  };
  msg._deliver = () => {
    if (delivered) return;
    delivered = true;
    if (body.length) msg.emit('data', encoding ? body.toString(encoding) : body);
    msg.complete = true;
    msg.emit('end');
    msg.emit('close');
  };
  msg[Symbol.asyncIterator] = async function* () {
    delivered = true;
    if (body.length) yield encoding ? body.toString(encoding) : body;
    msg.complete = true;
  };
  return msg;
}

function make(protocol) {
  const defaultPort = protocol === 'https:' ? 443 : 80;

  function request(first, second, third) {
    let options = {};
    let callback;
    if (typeof first === 'string' || first instanceof globalThis.URL) {
      const u = new globalThis.URL(String(first));
      options = {
        protocol: u.protocol,
        hostname: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        auth: u.username
          ? decodeURIComponent(u.username) + ':' + decodeURIComponent(u.password)
          : undefined,
      };
      if (second && typeof second === 'object') options = Object.assign(options, second);
      else if (typeof second === 'function') callback = second;
      if (typeof third === 'function') callback = third;
    } else {
      options = Object.assign({}, first || {});
      if (typeof second === 'function') callback = second;
    }
    const req = new EventEmitter();
    if (callback) req.once('response', callback);
    const headers = {};
    for (const k of Object.keys(options.headers || {}))
      headers[k.toLowerCase()] = [k, options.headers[k]];
    const chunks = [];
    let ended = false;
    let aborted = false;
    let timer = null;
    req.method = String(options.method || 'GET').toUpperCase();
    req.path = options.path || '/';
    req.setHeader = (name, value) => {
      headers[String(name).toLowerCase()] = [String(name), value];
      return req;
    };
    req.getHeader = (name) => {
      const h = headers[String(name).toLowerCase()];
      return h ? h[1] : undefined;
    };
    req.removeHeader = (name) => {
      delete headers[String(name).toLowerCase()];
    };
    req.setNoDelay = () => req;
    req.setSocketKeepAlive = () => req;
    req.flushHeaders = () => {};
    // Node only reports the idle time-out; the caller decides to destroy.
    req.setTimeout = (ms, cb) => {
      if (typeof cb === 'function') req.once('timeout', cb);
      if (timer !== null) globalThis.clearTimeout(timer);
      timer = ms > 0 ? globalThis.setTimeout(() => req.emit('timeout'), ms) : null;
      return req;
    };
    req.destroy = (err) => {
      if (aborted) return req;
      aborted = true;
      if (timer !== null) globalThis.clearTimeout(timer);
      req.destroyed = true;
      Promise.resolve().then(() => {
        if (err) req.emit('error', err);
        req.emit('close');
      });
      return req;
    };
    req.abort = () => {
      if (!aborted) {
        req.destroy();
        Promise.resolve().then(() => req.emit('abort'));
      }
    };
    req.write = (chunk, encoding, cb) => {
      if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      if (ended) throw new Error('write after end');
      chunks.push(toChunk(chunk, encoding));
      if (typeof cb === 'function') Promise.resolve().then(cb);
      return true;
    };
    req.end = (chunk, encoding, cb) => {
      if (typeof chunk === 'function') {
        cb = chunk;
        chunk = undefined;
      } else if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      if (ended) return req;
      if (chunk !== undefined && chunk !== null) req.write(chunk, encoding);
      ended = true;
      if (typeof cb === 'function') req.once('finish', cb);
      send();
      return req;
    };
    if (options.timeout > 0) req.setTimeout(options.timeout);

    function send() {
      let host = options.hostname || options.host || 'localhost';
      if (host.includes(':') && !host.startsWith('[')) host = '[' + host + ']';
      const port = options.port && Number(options.port) !== defaultPort ? ':' + options.port : '';
      const url = (options.protocol || protocol) + '//' + host + port + (options.path || '/');
      const list = [];
      for (const k of Object.keys(headers)) {
        const [name, value] = headers[k];
        if (Array.isArray(value)) for (const v of value) list.push([name, String(v)]);
        else if (value !== undefined) list.push([name, String(value)]);
      }
      if (options.auth && headers.authorization === undefined) {
        list.push([
          'Authorization',
          'Basic ' + globalThis.Buffer.from(String(options.auth)).toString('base64'),
        ]);
      }
      const init = { method: req.method, headers: list, redirect: 'manual' };
      if (chunks.length && req.method !== 'GET' && req.method !== 'HEAD') {
        init.body = globalThis.Buffer.concat(chunks);
      }
      let pending;
      try {
        pending = globalThis.fetch(url, init);
      } catch (e) {
        pending = Promise.reject(e);
      }
      Promise.resolve().then(() => req.emit('finish'));
      pending.then(
        async (res) => {
          const body = globalThis.Buffer.from(await res.arrayBuffer());
          if (timer !== null) globalThis.clearTimeout(timer);
          if (aborted) return;
          const msg = incoming(res, body);
          req.res = msg;
          req.emit('response', msg);
          // Listeners are attached in the 'response' handler: deliver on a later turn.
          Promise.resolve().then(msg._deliver);
        },
        (err) => {
          if (timer !== null) globalThis.clearTimeout(timer);
          if (!aborted) req.emit('error', err);
        },
      );
    }
    return req;
  }

  function Agent(options) {
    this.options = options || {};
    this.keepAlive = Boolean(this.options.keepAlive);
  }
  Agent.prototype.destroy = () => {};
  return {
    request,
    get: (a, b, c) => {
      const r = request(a, b, c);
      r.end();
      return r;
    },
    Agent,
    globalAgent: new Agent(),
    STATUS_CODES,
    METHODS: ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'],
  };
}
module.exports = make('http:');
module.exports.__make = make;
