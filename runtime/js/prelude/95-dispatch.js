// Prelude, piece 95: handler registration and dispatch, the host's two ways in.
//
// `__fio_register` (run once, after the code loaded) keeps the handlers the code
// defined; `__fio_dispatch` (each time the host enters the context) takes what the
// host queued, as one JSON text, and runs it: invocations ('i'), fetch answers
// ('f'), timer callbacks ('t'), timers to forget ('c'). Before running anything for
// an invocation it tells the host which one (`enter`), so that logs, timers and
// fetches are attributed to it, and a time-out to the call that was running.
// Results settle through this realm's original Promise machinery and leave as
// strings ('done').
// Uses: G, OrigPromise, apply, defineProperty, host, mapDelete, parse, promiseThen,
// stringify (00); EventNotSupported, classify (10); fireTimer, timers (60);
// settleFetch (70).
//
let handlers = null;
defineProperty(G, '__fio_register', {
  value(list) {
    if (handlers !== null) return;
    handlers = {
      __proto__: null,
      onIdentify: list[0],
      onTrack: list[1],
      onPage: list[2],
      onScreen: list[3],
      onGroup: list[4],
      onAlias: list[5],
      onDelete: list[6],
      onBatch: list[7],
    };
  },
});

function finish(id, outcome, type, message, resultJson, where) {
  host('done', id, outcome, type, message, resultJson, where);
}

// JSON.rawJSON text would reach Python as it is: a number of 5,000 digits or 1e999
// (infinity) is no JSON any reader accepts. Results are plain JSON values only.
const RAW_JSON_REFUSED = 'the return value holds JSON.rawJSON text, which results cannot carry';
function plainJson(_key, value) {
  if (isRawJSON(value)) throw new TypeError(RAW_JSON_REFUSED);
  return value;
}

function succeed(id, value) {
  let json;
  try {
    json = value === undefined ? undefined : stringify(value, plainJson);
  } catch (e) {
    const [, , message] = classify(e);
    if (message === RAW_JSON_REFUSED) {
      finish(id, 'bad_request', 'TypeError', RAW_JSON_REFUSED, undefined);
      return;
    }
    host('log', 'warn', '[runtime] the return value is not JSON-serializable: ' + message);
    json = undefined;
  }
  finish(id, 'success', '', '', typeof json === 'string' ? json : undefined);
}

function fail(id, e) {
  const [outcome, type, message, where] = classify(e);
  finish(id, outcome, type, message, undefined, where);
}

function start(id, name, settings, payload) {
  host('enter', id);
  const fn = handlers === null ? undefined : handlers[name];
  if (typeof fn !== 'function') {
    finish(id, 'unsupported_event_type', 'EventNotSupported', `${name} is not defined`);
    return;
  }
  let p;
  try {
    p = fn(payload, settings);
  } catch (e) {
    fail(id, e);
    return;
  }
  // Settle through this realm's original Promise machinery, whatever the code
  // did to Promise.prototype.then.
  const wrapped = new OrigPromise((resolve) => resolve(p));
  apply(promiseThen, wrapped, [(v) => succeed(id, v), (e) => fail(id, e)]);
}

defineProperty(G, '__fio_dispatch', {
  value() {
    const raw = host('take');
    if (typeof raw !== 'string' || raw === '') return;
    const messages = parse(raw);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      switch (m[0]) {
        case 'i':
          start(m[1], m[2], m[3], m[4]);
          break;
        case 'f':
          host('enter', m[1]);
          settleFetch(m[2], m[3]);
          break;
        case 't':
          host('enter', m[1]);
          fireTimer(m[2]);
          break;
        case 'c':
          for (const t of m[1]) apply(mapDelete, timers, [t]);
          break;
        default:
          break;
      }
    }
    host('enter', 0);
  },
});
void getPrototypeOf;
