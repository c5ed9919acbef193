// Prelude, piece 20: console capture.
//
// console.log/info/warn/error/debug/trace/dir format their arguments here (a small
// inspect: 3 levels deep, 100 items, circular references marked) and hand the host
// one string per call; the host caps and escapes the lines of each invocation
// (host/invocations.js, pushLog). An argument that cannot be inspected (a throwing
// getter or Proxy) prints as [uninspectable] instead of failing the call.
// Uses: G, hidden, host, isArray (00).

function inspect(v, depth, seen) {
  switch (typeof v) {
    case 'string':
      return depth === 0 ? v : "'" + v + "'";
    case 'function':
      return '[Function: ' + (v.name || '(anonymous)') + ']';
    case 'symbol':
      return v.toString();
    case 'bigint':
      return v + 'n';
    case 'object':
      break;
    default:
      return String(v);
  }
  if (v === null) return 'null';
  if (v instanceof Error) return v.stack ? String(v.stack) : v.name + ': ' + v.message;
  if (v instanceof Date) return v.toISOString();
  if (seen.indexOf(v) !== -1) return '[Circular]';
  if (depth > 3) return isArray(v) ? '[Array]' : '[Object]';
  seen.push(v);
  let out;
  if (isArray(v)) {
    const items = [];
    for (let i = 0; i < v.length && i < 100; i++) items.push(inspect(v[i], depth + 1, seen));
    if (v.length > 100) items.push('... ' + (v.length - 100) + ' more items');
    out = '[ ' + items.join(', ') + ' ]';
    if (items.length === 0) out = '[]';
  } else {
    const keys = Object.keys(v);
    const items = [];
    for (let i = 0; i < keys.length && i < 100; i++) {
      const k = keys[i];
      items.push(
        (/^[A-Za-z_$][\w$]*$/.test(k) ? k : "'" + k + "'") + ': ' + inspect(v[k], depth + 1, seen),
      );
    }
    if (keys.length > 100) items.push('... ' + (keys.length - 100) + ' more keys');
    out = items.length === 0 ? '{}' : '{ ' + items.join(', ') + ' }';
  }
  seen.pop();
  return out;
}

function format(args) {
  const parts = [];
  for (let i = 0; i < args.length; i++) {
    try {
      parts.push(inspect(args[i], 0, []));
    } catch (_) {
      parts.push('[uninspectable]');
    }
  }
  return parts.join(' ');
}

const consoleObject = {};
for (const [name, level] of [
  ['log', 'log'],
  ['info', 'info'],
  ['warn', 'warn'],
  ['error', 'error'],
  ['debug', 'debug'],
  ['trace', 'debug'],
  ['dir', 'log'],
]) {
  consoleObject[name] = function (...args) {
    host('log', level, format(args));
  };
}
hidden(G, 'console', consoleObject);
