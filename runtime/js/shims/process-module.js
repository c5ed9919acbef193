// `require('process')` inside library bundles: the same harmless stand-in.
module.exports = require('./process.js').process;
