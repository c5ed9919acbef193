// AbortController and AbortSignal for the library bundles that create them (the
// realm's fetch takes no signal: an abort settles what waits on the signal, the
// request itself still ends within the function's time limit).
export class AbortSignal {
  constructor() {
    this.aborted = false;
    this.reason = undefined;
    this.onabort = null;
    this._listeners = [];
  }
  addEventListener(type, listener) {
    if (type === 'abort' && typeof listener === 'function') this._listeners.push(listener);
  }
  removeEventListener(type, listener) {
    if (type === 'abort') this._listeners = this._listeners.filter((l) => l !== listener);
  }
  throwIfAborted() {
    if (this.aborted) throw this.reason;
  }
  _abort(reason) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason === undefined ? abortError() : reason;
    const event = { type: 'abort', target: this };
    if (typeof this.onabort === 'function') this.onabort(event);
    for (const l of this._listeners.slice()) l.call(this, event);
  }
  static abort(reason) {
    const s = new AbortSignal();
    s._abort(reason);
    return s;
  }
  static timeout(ms) {
    const s = new AbortSignal();
    globalThis.setTimeout(() => {
      const err = new Error('The operation was aborted due to timeout');
      err.name = 'TimeoutError';
      s._abort(err);
    }, ms);
    return s;
  }
  static any(signals) {
    const s = new AbortSignal();
    for (const signal of signals) {
      if (signal.aborted) {
        s._abort(signal.reason);
        break;
      }
      signal.addEventListener('abort', () => s._abort(signal.reason));
    }
    return s;
  }
}

function abortError() {
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}

export class AbortController {
  constructor() {
    this.signal = new AbortSignal();
  }
  abort(reason) {
    this.signal._abort(reason);
  }
}
