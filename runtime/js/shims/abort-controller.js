// The abort-controller package: the in-realm classes.
const { AbortController, AbortSignal } = require('./abort.js');
module.exports = AbortController;
module.exports.AbortController = AbortController;
module.exports.AbortSignal = AbortSignal;
module.exports.default = AbortController;
