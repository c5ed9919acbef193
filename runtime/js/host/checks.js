'use strict';
// Type checks for what reaches the host: messages from Python (host/protocol.js),
// bridge arguments (host/bridge.js) and the JSON texts a context hands over.
//
// Rules kept here: values are tested with `typeof` and Number tests only (no
// property reads, no coercion that could call back into a context); objects parsed
// from JSON text are read by their OWN properties only (`own`), whatever happens to
// the host's prototypes (frozen anyway, host/freeze.js).
const hasOwn = Object.hasOwn;
function own(obj, key) {
  return hasOwn(obj, key) ? obj[key] : undefined;
}
const isId = (v) => Number.isSafeInteger(v) && v > 0;
const str = (v) => typeof v === 'string';
const num = (v) => typeof v === 'number' && Number.isFinite(v);

module.exports = { hasOwn, own, isId, str, num };
