// Segment exposes Node's zlib as `zlib.zlib`; code written against Node calls
// `zlib.gzipSync` directly: both work.
const zlib = require('../shims/zlib.js');
__fio_define('zlib', Object.assign({ zlib }, zlib));
