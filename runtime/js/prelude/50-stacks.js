// Prelude, piece 50: stack traces that show the function's frames only.
// Uses: apply, defineProperty, isArray (00).
//
// Below the user's frames are the runtime's own (the worker's dispatch, with host
// paths and function names, the prelude): stacks show only the function's code
// (handler.js), the libraries (lib:...) and built-ins. A prepareStackTrace the code
// installs gets the same frames (reading the property back gives a wrapper; setting
// that wrapper again restores the function it wraps). Unset, it reads as the
// runtime's formatter (Node calls whatever the realm's property holds).
const ErrorC = Error;
const errorToString = Error.prototype.toString;
function visibleFrames(frames) {
  const out = [];
  if (!isArray(frames)) return out;
  for (let i = 0; i < frames.length; i++) {
    let file;
    try {
      file = frames[i].getFileName();
    } catch (_) {
      continue;
    }
    if (
      file === undefined ||
      file === null ||
      file === 'handler.js' ||
      (typeof file === 'string' &&
        file.length > 4 &&
        file[0] === 'l' &&
        file[1] === 'i' &&
        file[2] === 'b' &&
        file[3] === ':')
    ) {
      out[out.length] = frames[i];
    }
  }
  return out;
}
function formatStack(err, frames) {
  let text;
  try {
    text = '' + apply(errorToString, err, []);
  } catch (_) {
    text = 'Error';
  }
  const shown = visibleFrames(frames);
  for (let i = 0; i < shown.length; i++) {
    let line;
    try {
      line = '' + shown[i];
    } catch (_) {
      line = '<unknown>';
    }
    text += '\n    at ' + line;
  }
  return text;
}
let userPrepare;
const wrappers = new WeakMap();
const wrapped = new WeakMap(); // wrapper -> the code's function
defineProperty(ErrorC, 'prepareStackTrace', {
  configurable: false,
  enumerable: false,
  get() {
    const fn = userPrepare;
    if (fn === undefined) return formatStack; // Node formats stacks with it
    if (typeof fn !== 'function') return fn;
    let w = wrappers.get(fn);
    if (w === undefined) {
      w = function prepareStackTrace(err, frames) {
        return apply(fn, this, [err, visibleFrames(frames)]);
      };
      wrappers.set(fn, w);
      wrapped.set(w, fn);
    }
    return w;
  },
  set(fn) {
    userPrepare =
      fn === formatStack || fn === null
        ? undefined
        : typeof fn === 'function' && wrapped.has(fn)
          ? wrapped.get(fn)
          : fn;
  },
});
