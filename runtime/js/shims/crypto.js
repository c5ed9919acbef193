// `require('crypto')` inside library bundles: the realm's own crypto (prelude/80-crypto.js).
module.exports = globalThis.crypto;
