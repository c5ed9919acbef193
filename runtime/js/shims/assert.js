// Node's assert, the parts library code calls.
class AssertionError extends Error {
  constructor(message) {
    super(message || 'Assertion failed');
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
  }
}
function fail(message) {
  throw message instanceof Error ? message : new AssertionError(message);
}
function assert(value, message) {
  if (!value) fail(message);
}
assert.ok = assert;
assert.fail = fail;
// biome-ignore lint/suspicious/noDoubleEquals: Node's assert.equal is loose equality
assert.equal = (a, b, message) => (a == b ? undefined : fail(message || `${a} == ${b}`));
// biome-ignore lint/suspicious/noDoubleEquals: Node's assert.notEqual is loose inequality
assert.notEqual = (a, b, message) => (a != b ? undefined : fail(message || `${a} != ${b}`));
assert.strictEqual = (a, b, message) =>
  Object.is(a, b) ? undefined : fail(message || `${a} === ${b}`);
assert.notStrictEqual = (a, b, message) =>
  Object.is(a, b) ? fail(message || `${a} !== ${b}`) : undefined;
assert.AssertionError = AssertionError;
assert.strict = assert;
module.exports = assert;
