// `require('buffer')` inside library bundles: the realm's Buffer (dist/buffer.js loads first).
const Buffer = globalThis.Buffer;
module.exports = {
  Buffer,
  SlowBuffer: Buffer,
  kMaxLength: 0x7fffffff,
  constants: { MAX_LENGTH: 0x7fffffff },
};
