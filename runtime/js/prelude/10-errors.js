// Prelude, piece 10: error classes and outcomes.
//
// The globals EventNotSupported, InvalidEventPayload, ValidationError, RetryError,
// DropEvent and InvalidSettings (Segment's), FetchError (offered as
// fetch.FetchError by 70-fetch), and `classify`, which turns anything thrown into
// [outcome, type, message]. It reads the thrown value only inside a try (a getter
// or a Proxy may throw) and returns strings only: the host receives text this
// realm produced, never the value.
// Uses: G, defineProperty, hidden (00).

function errorClass(name) {
  const C = class extends Error {
    constructor(message) {
      super(message);
      this.name = name;
    }
  };
  defineProperty(C, 'name', { value: name });
  return C;
}
const EventNotSupported = errorClass('EventNotSupported');
const InvalidEventPayload = errorClass('InvalidEventPayload');
const ValidationError = errorClass('ValidationError');
const RetryError = errorClass('RetryError');
const DropEvent = errorClass('DropEvent');
const InvalidSettings = errorClass('InvalidSettings');
const FetchError = errorClass('FetchError');
for (const C of [
  EventNotSupported,
  InvalidEventPayload,
  ValidationError,
  RetryError,
  DropEvent,
  InvalidSettings,
])
  hidden(G, C.name, C);

const OUTCOME_BY_NAME = {
  __proto__: null,
  EventNotSupported: 'unsupported_event_type',
  InvalidEventPayload: 'message_rejected',
  ValidationError: 'message_rejected',
  RetryError: 'retry',
  DropEvent: 'dropped',
  InvalidSettings: 'invalid_settings',
};

// Where in the function's code `e` was thrown, as "LINE:COLUMN" of the first
// handler.js frame of its stack ('' when unknown): the IDE highlights that line. Read
// with indexOf only (a replaced RegExp.prototype.exec must not decide it).
function throwSite(e) {
  let stack;
  try {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) return '';
    stack = e.stack;
    if (typeof stack !== 'string') return '';
  } catch (_) {
    return '';
  }
  const at = stack.indexOf('handler.js:');
  if (at === -1) return '';
  let i = at + 11;
  let line = '';
  while (i < stack.length && stack[i] >= '0' && stack[i] <= '9' && line.length < 9)
    line += stack[i++];
  if (line === '' || stack[i] !== ':') return '';
  let column = '';
  i++;
  while (i < stack.length && stack[i] >= '0' && stack[i] <= '9' && column.length < 9)
    column += stack[i++];
  return column === '' ? '' : line + ':' + column;
}

function classify(e) {
  let outcome = 'bad_request';
  let type = 'Error';
  let message = '';
  try {
    if (e instanceof EventNotSupported) outcome = 'unsupported_event_type';
    else if (e instanceof InvalidEventPayload || e instanceof ValidationError) {
      outcome = 'message_rejected';
    } else if (e instanceof RetryError) outcome = 'retry';
    else if (e instanceof DropEvent) outcome = 'dropped';
    else if (e instanceof InvalidSettings) outcome = 'invalid_settings';
    if (e !== null && (typeof e === 'object' || typeof e === 'function')) {
      const ctor = e.constructor;
      const name = (ctor && typeof ctor.name === 'string' && ctor.name) || String(e.name);
      type = name || 'Error';
      if (outcome === 'bad_request' && OUTCOME_BY_NAME[type]) outcome = OUTCOME_BY_NAME[type];
      message = e.message === undefined ? String(e) : String(e.message);
    } else {
      message = String(e);
    }
  } catch (_) {
    message = 'an unprintable value was thrown';
  }
  return [outcome, String(type).slice(0, 200), message, throwSite(e)];
}
