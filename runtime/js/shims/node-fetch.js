// `node-fetch` inside library bundles: the realm's own fetch (node-fetch v2's API),
// so that libraries built on it go through the egress policy, limits and traces.
// node-fetch's responses carry their body as a stream too (`res.body`), which some
// libraries read or decorate: each response gets one, fed from a copy of the body
// (the response's own text()/json() still work).
const { Readable } = require('stream');

function withBody(res) {
  if (res.body === undefined) {
    const body = new Readable({ read() {} });
    res
      .clone()
      .arrayBuffer()
      .then(
        (ab) => {
          if (ab.byteLength) body.push(globalThis.Buffer.from(ab));
          body.push(null);
        },
        (err) => body.destroy(err),
      );
    Object.defineProperty(res, 'body', {
      value: body,
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }
  return res;
}

// node-fetch sends a stream body as it comes; the realm's fetch takes bytes: read it
// first (up to fetch's own cap, so that a stream that never ends cannot fill memory).
const MAX_BODY = 5 * 1024 * 1024;
function isStream(body) {
  return (
    body !== null &&
    typeof body === 'object' &&
    typeof body.pipe === 'function' &&
    typeof body.on === 'function' &&
    !ArrayBuffer.isView(body)
  );
}
function readStream(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    stream.on('data', (chunk) => {
      const bytes = globalThis.Buffer.from(chunk);
      size += bytes.length;
      if (size > MAX_BODY) {
        reject(new RangeError(`request body stream exceeds ${MAX_BODY} bytes`));
        if (typeof stream.destroy === 'function') stream.destroy();
        return;
      }
      chunks.push(bytes);
    });
    stream.on('end', () => resolve(globalThis.Buffer.concat(chunks)));
    stream.on('error', reject);
    if (typeof stream.resume === 'function') stream.resume();
  });
}

async function fetch(input, init) {
  if (init && isStream(init.body))
    init = Object.assign({}, init, { body: await readStream(init.body) });
  return withBody(await globalThis.fetch(input, init));
}
module.exports = fetch;
module.exports.default = fetch;
module.exports.Headers = globalThis.Headers;
module.exports.Request = globalThis.Request;
module.exports.Response = globalThis.Response;
module.exports.FetchError = globalThis.fetch.FetchError;
