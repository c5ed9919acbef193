// form-data's FormData (multipart/form-data), built in memory: append, getBoundary,
// getHeaders, getBuffer, getLengthSync. fetch() sends it with its boundary.
class FormData {
  constructor() {
    this._parts = [];
    this._boundary =
      '--------------------------' +
      Array.from(globalThis.crypto.randomBytes(12))
        .map((b) => (b % 10).toString())
        .join('');
  }
  append(name, value, options) {
    const opts = typeof options === 'string' ? { filename: options } : options || {};
    let data = value;
    if (typeof value === 'number' || typeof value === 'boolean') data = String(value);
    if (Array.isArray(value)) throw new TypeError('Arrays are not supported.');
    let header = '--' + this._boundary + '\r\nContent-Disposition: form-data; name="' + name + '"';
    if (opts.filename) header += '; filename="' + opts.filename + '"';
    header += '\r\n';
    if (opts.contentType || opts.filename)
      header += 'Content-Type: ' + (opts.contentType || 'application/octet-stream') + '\r\n';
    this._parts.push([header + '\r\n', data]);
  }
  getBoundary() {
    return this._boundary;
  }
  setBoundary(b) {
    this._boundary = String(b);
  }
  getHeaders(extra = {}) {
    return Object.assign(
      { 'content-type': 'multipart/form-data; boundary=' + this._boundary },
      extra,
    );
  }
  getBuffer() {
    const B = globalThis.Buffer;
    const chunks = [];
    for (const [header, data] of this._parts) {
      chunks.push(
        B.from(header),
        typeof data === 'string' ? B.from(data) : B.from(data),
        B.from('\r\n'),
      );
    }
    chunks.push(B.from('--' + this._boundary + '--\r\n'));
    return B.concat(chunks);
  }
  getLengthSync() {
    return this.getBuffer().length;
  }
  toString() {
    return '[object FormData]';
  }
}
module.exports = FormData;
