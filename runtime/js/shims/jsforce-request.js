// jsforce's HTTP request (its browser build reads WHATWG response streams, which the
// realm's fetch does not make): one fetch, its answer emitted as jsforce's transport
// expects ('response', then 'complete' with the body as text, or 'error').
const Stream = require('stream');

function request(req, options) {
  const opts = options || {};
  // jsforce pipes its lazy streams through this one; the answer comes as one
  // 'complete' event, so nothing flows through the pipes.
  const stream = new Stream.Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  const init = {
    method: String(req.method || 'GET').toUpperCase(),
    headers: req.headers || {},
    redirect: opts.followRedirect ? 'follow' : 'manual',
  };
  const body = req.body;
  if (body !== undefined && body !== null && init.method !== 'GET' && init.method !== 'HEAD') {
    init.body = typeof body.getBuffer === 'function' ? body.getBuffer() : body;
  }
  let timer = null;
  let settled = false;
  const settle = (event, value) => {
    if (settled) return;
    settled = true;
    if (timer !== null) globalThis.clearTimeout(timer);
    stream.emit(event, value);
  };
  if (opts.timeout > 0) {
    timer = globalThis.setTimeout(() => {
      const err = new Error('Request Timeout');
      err.name = 'RequestTimeoutError';
      settle('error', err);
    }, opts.timeout);
  }
  // Listeners are attached by the caller after this returns: start on a later turn.
  Promise.resolve()
    .then(() => globalThis.fetch(req.url, init))
    .then(async (res) => {
      const text = await res.text();
      const headers = {};
      res.headers.forEach((v, k) => {
        headers[k] = v;
      });
      const response = { statusCode: res.status, headers };
      if (settled) return;
      stream.emit('response', response);
      settle('complete', { statusCode: res.status, headers, body: text });
    })
    .catch((err) => settle('error', err));
  return stream;
}

function setDefaults() {}

module.exports = request;
module.exports.default = request;
module.exports.setDefaults = setDefaults;
