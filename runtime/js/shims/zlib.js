// Node's zlib API (the sync and callback forms functions use) on pako, a pure-JS
// port of zlib, so that it runs inside the function's own realm under its time limit.
// Sizes are capped: a few KB of crafted deflate data inflate to gigabytes, and the
// worker's heap is shared by every context on it. Output is counted chunk by chunk
// while it is produced, so a bomb stops at the cap instead of after allocating.
const pako = require('pako');

const MAX_BYTES = 8 * 1024 * 1024;

const Z_CODES = {
  2: 'Z_NEED_DICT',
  1: 'Z_STREAM_END',
  0: 'Z_OK',
  '-1': 'Z_ERRNO',
  '-2': 'Z_STREAM_ERROR',
  '-3': 'Z_DATA_ERROR',
  '-4': 'Z_MEM_ERROR',
  '-5': 'Z_BUF_ERROR',
  '-6': 'Z_VERSION_ERROR',
};

const constants = {
  Z_NO_FLUSH: 0,
  Z_PARTIAL_FLUSH: 1,
  Z_SYNC_FLUSH: 2,
  Z_FULL_FLUSH: 3,
  Z_FINISH: 4,
  Z_BLOCK: 5,
  Z_OK: 0,
  Z_STREAM_END: 1,
  Z_NEED_DICT: 2,
  Z_ERRNO: -1,
  Z_STREAM_ERROR: -2,
  Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4,
  Z_BUF_ERROR: -5,
  Z_VERSION_ERROR: -6,
  Z_NO_COMPRESSION: 0,
  Z_BEST_SPEED: 1,
  Z_BEST_COMPRESSION: 9,
  Z_DEFAULT_COMPRESSION: -1,
  Z_FILTERED: 1,
  Z_HUFFMAN_ONLY: 2,
  Z_RLE: 3,
  Z_FIXED: 4,
  Z_DEFAULT_STRATEGY: 0,
  Z_DEFAULT_WINDOWBITS: 15,
  Z_MIN_WINDOWBITS: 8,
  Z_MAX_WINDOWBITS: 15,
  Z_DEFAULT_CHUNK: 16384,
  Z_DEFAULT_MEMLEVEL: 8,
  Z_DEFAULT_LEVEL: -1,
};

function codeError(message, code, Kind = TypeError) {
  const err = new Kind(message);
  err.code = code;
  return err;
}

function tooLarge(what) {
  return codeError(
    `zlib ${what} exceeds the runtime's limit of ${MAX_BYTES} bytes`,
    'ERR_BUFFER_TOO_LARGE',
    RangeError,
  );
}

function toBytes(input) {
  const B = globalThis.Buffer;
  let bytes;
  if (typeof input === 'string') bytes = B.from(input, 'utf8');
  else if (ArrayBuffer.isView(input))
    bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else {
    throw codeError(
      'The "buffer" argument must be of type string or an instance of Buffer, ' +
        'TypedArray, DataView, or ArrayBuffer.',
      'ERR_INVALID_ARG_TYPE',
    );
  }
  if (bytes.length > MAX_BYTES) throw tooLarge('input');
  return bytes;
}

// Node's option names, checked and narrowed to what pako understands.
function engineOptions(options, windowBitsOffset, raw, gzip) {
  const o = options || {};
  const out = { chunkSize: 16384 };
  for (const k of ['level', 'memLevel', 'strategy', 'windowBits']) {
    if (o[k] !== undefined) {
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) {
        throw codeError(
          `The "options.${k}" property must be of type number`,
          'ERR_INVALID_ARG_TYPE',
        );
      }
      out[k] = o[k];
    }
  }
  // pako treats windowBits 8..15 without an offset as "detect the header" unless
  // it is given explicitly: always give it, so inflate refuses gzip as Node does.
  const bits = out.windowBits === undefined ? 15 : out.windowBits;
  out.windowBits = raw ? -bits : bits + windowBitsOffset;
  if (gzip) out.gzip = true;
  if (o.dictionary !== undefined) out.dictionary = toBytes(o.dictionary);
  let limit = MAX_BYTES;
  if (typeof o.maxOutputLength === 'number' && o.maxOutputLength >= 1) {
    limit = Math.min(limit, Math.floor(o.maxOutputLength));
  }
  return [out, limit];
}

function run(Engine, input, options, mode) {
  const bytes = toBytes(input);
  const [opts, limit] = engineOptions(options, mode.offset, mode.raw, mode.gzip);
  const engine = new Engine(opts);
  const chunks = [];
  let total = 0;
  engine.onData = (chunk) => {
    total += chunk.length;
    if (total > limit) {
      if (limit < MAX_BYTES) {
        throw codeError(
          `Cannot create a Buffer larger than ${limit} bytes`,
          'ERR_BUFFER_TOO_LARGE',
          RangeError,
        );
      }
      throw tooLarge('output');
    }
    chunks.push(chunk);
  };
  engine.push(bytes, true);
  let status = engine.err;
  let message = engine.msg;
  if (status === 0 && Engine === pako.Inflate && !engine.ended) {
    status = -5;
    message = 'unexpected end of file';
  }
  if (status !== 0 && status !== 1) {
    const err = new Error(message || Z_CODES[status] || 'zlib error');
    err.errno = status;
    err.code = Z_CODES[status] || 'Z_UNKNOWN';
    throw err;
  }
  return globalThis.Buffer.concat(chunks, total);
}

const MODES = {
  deflate: [pako.Deflate, { offset: 0 }],
  inflate: [pako.Inflate, { offset: 0 }],
  deflateRaw: [pako.Deflate, { raw: true }],
  inflateRaw: [pako.Inflate, { raw: true }],
  gzip: [pako.Deflate, { offset: 0, gzip: true }],
  gunzip: [pako.Inflate, { offset: 16 }],
  unzip: [pako.Inflate, { offset: 32 }],
};

const zlib = { constants, ...constants };
for (const name of Object.keys(MODES)) {
  const [Engine, mode] = MODES[name];
  const sync = (input, options) => run(Engine, input, options, mode);
  zlib[name + 'Sync'] = sync;
  // Node calls back on a later turn, never synchronously, even for bad input.
  zlib[name] = (input, options, callback) => {
    if (typeof options === 'function') {
      callback = options;
      options = undefined;
    }
    if (typeof callback !== 'function') {
      throw codeError('The "callback" argument must be of type function', 'ERR_INVALID_ARG_TYPE');
    }
    let result;
    let error = null;
    try {
      result = sync(input, options);
    } catch (e) {
      error = e;
    }
    Promise.resolve().then(() => (error ? callback(error) : callback(null, result)));
  };
}

// Streams and brotli have no in-realm implementation: say so instead of being undefined.
const unavailable = (name, instead) =>
  function () {
    throw new Error(`zlib.${name} is not available in this runtime; use ${instead}`);
  };
for (const kind of ['Deflate', 'Inflate', 'DeflateRaw', 'InflateRaw', 'Gzip', 'Gunzip', 'Unzip']) {
  const lower = kind[0].toLowerCase() + kind.slice(1);
  zlib['create' + kind] = unavailable('create' + kind, `zlib.${lower}Sync or zlib.${lower}`);
}
for (const name of [
  'brotliCompress',
  'brotliCompressSync',
  'brotliDecompress',
  'brotliDecompressSync',
  'createBrotliCompress',
  'createBrotliDecompress',
]) {
  zlib[name] = unavailable(name, 'gzip or deflate');
}
zlib.MAX_BYTES = MAX_BYTES;

module.exports = zlib;
