// `require('crypto')` inside library bundles: the realm's own crypto (prelude.js).
module.exports = globalThis.crypto;
