// The few web-platform classes some SDKs' web builds reference at load time (the
// realm has only JavaScript's intrinsics), injected into those bundles only, so that
// other libraries' feature checks still see them absent.
export class Event {
  constructor(type, options) {
    this.type = String(type);
    this.bubbles = Boolean(options && options.bubbles);
    this.cancelable = Boolean(options && options.cancelable);
    this.defaultPrevented = false;
    this.timeStamp = Date.now();
  }
  preventDefault() {
    if (this.cancelable) this.defaultPrevented = true;
  }
  stopPropagation() {}
  stopImmediatePropagation() {}
}

export class EventTarget {
  constructor() {
    this._listeners = new Map();
  }
  addEventListener(type, listener, options) {
    if (typeof listener !== 'function') return;
    const list = this._listeners.get(type) || [];
    if (list.some((l) => l.listener === listener)) return;
    list.push({ listener, once: Boolean(options && options.once) });
    this._listeners.set(type, list);
  }
  removeEventListener(type, listener) {
    const list = this._listeners.get(type);
    if (list)
      this._listeners.set(
        type,
        list.filter((l) => l.listener !== listener),
      );
  }
  dispatchEvent(event) {
    for (const l of (this._listeners.get(event.type) || []).slice()) {
      if (l.once) this.removeEventListener(event.type, l.listener);
      l.listener.call(this, event);
    }
    return !event.defaultPrevented;
  }
}

// Only ever the right side of `instanceof` in these builds: nothing is one.
export class ReadableStream {}

// Likewise only checked with `instanceof` (request bodies): nothing is one.
export class Blob {}

export class DOMException extends Error {
  constructor(message, name) {
    super(message);
    this.name = name === undefined ? 'Error' : String(name);
  }
}
