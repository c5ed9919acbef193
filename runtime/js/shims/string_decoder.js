class StringDecoder {
  constructor() {
    this._d = new globalThis.TextDecoder('utf-8');
  }
  write(buf) {
    return typeof buf === 'string' ? buf : this._d.decode(buf);
  }
  end(buf) {
    return buf ? this.write(buf) : '';
  }
}
module.exports = { StringDecoder };
