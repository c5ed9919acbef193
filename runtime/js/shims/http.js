// Node's http.request for libraries (node-oauth), carried out with the realm's fetch,
// so it goes through the same egress policy and tracing as everything else.
const EventEmitter = require('events');
function make(protocol) {
  function request(options, callback) {
    const req = new EventEmitter();
    const chunks = [];
    if (typeof callback === 'function') req.on('response', callback);
    req.setTimeout = () => req;
    req.abort = () => {};
    req.destroy = () => {};
    req.write = (chunk) => {
      chunks.push(
        typeof chunk === 'string' ? chunk : globalThis.Buffer.from(chunk).toString('latin1'),
      );
      return true;
    };
    req.end = (chunk) => {
      if (chunk) req.write(chunk);
      const host = options.hostname || options.host || 'localhost';
      const port = options.port ? ':' + options.port : '';
      const url = (options.protocol || protocol) + '//' + host + port + (options.path || '/');
      const method = (options.method || 'GET').toUpperCase();
      const init = { method, headers: options.headers || {}, redirect: 'manual' };
      if (chunks.length && method !== 'GET' && method !== 'HEAD')
        init.body = globalThis.Buffer.from(chunks.join(''), 'latin1');
      globalThis.fetch(url, init).then(
        async (res) => {
          const body = globalThis.Buffer.from(await res.arrayBuffer());
          const response = new EventEmitter();
          response.statusCode = res.status;
          response.statusMessage = res.statusText;
          response.headers = {};
          res.headers.forEach((v, k) => {
            response.headers[k] = v;
          });
          let encoding = null;
          response.setEncoding = (e) => {
            encoding = e;
          };
          req.emit('response', response);
          Promise.resolve().then(() => {
            response.emit('data', encoding ? body.toString(encoding) : body);
            response.emit('end');
          });
        },
        (err) => req.emit('error', err),
      );
      return req;
    };
    return req;
  }
  return {
    request,
    get: (o, cb) => {
      const r = request(o, cb);
      r.end();
      return r;
    },
    Agent: function Agent() {},
  };
}
module.exports = make('http:');
module.exports.__make = make;
