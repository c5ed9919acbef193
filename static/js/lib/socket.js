// A small reconnecting websocket client with JSON messages.
//
//   const socket = connectSocket('/ws/w/acme/functions/12/events/');
//   const off = socket.on('function.changed', (message) => { ... });
//   socket.on('open', () => ...); socket.on('close', ({ code, willRetry }) => ...);
//   socket.send({ type: 'run', ... });   // queued while (re)connecting
//   socket.close();
//
// `path` may be a path ('/ws/...') or a full ws(s):// URL. Handlers of type '*' get every
// message. Closes with a code of 4000 and above (the server refused: not found, no
// rights) are final; others reconnect with a growing, jittered delay.

const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const MAX_QUEUE = 20;

function absoluteUrl(path) {
  if (/^wss?:\/\//.test(path)) return path;
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}${path}`;
}

export function connectSocket(path, { reconnect = true } = {}) {
  const url = absoluteUrl(path);
  const handlers = new Map();
  const queue = [];
  let ws = null;
  let closed = false;
  let delay = MIN_DELAY_MS;
  let timer = null;

  function emit(type, payload) {
    for (const key of [type, '*']) {
      if (key === '*' && (type === 'open' || type === 'close')) continue;
      for (const fn of handlers.get(key) || []) {
        try {
          fn(payload);
        } catch (error) {
          console.error(error);
        }
      }
    }
  }

  function open() {
    timer = null;
    if (closed) return;
    try {
      ws = new WebSocket(url);
    } catch {
      schedule(1006);
      return;
    }
    ws.addEventListener('open', () => {
      delay = MIN_DELAY_MS;
      while (queue.length && ws.readyState === WebSocket.OPEN) ws.send(queue.shift());
      emit('open', {});
    });
    ws.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message && typeof message.type === 'string') emit(message.type, message);
    });
    ws.addEventListener('close', (event) => {
      ws = null;
      const refused = event.code >= 4000;
      const willRetry = reconnect && !closed && !refused;
      emit('close', { code: event.code, refused, willRetry });
      if (willRetry) schedule(event.code);
      else queue.length = 0;
    });
  }

  function schedule() {
    if (timer || closed) return;
    const wait = Math.min(delay, MAX_DELAY_MS) * (0.75 + Math.random() * 0.5);
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    timer = setTimeout(open, wait);
  }

  open();

  return {
    /** Listen to messages of `type` (or 'open', 'close', '*'); returns an unsubscribe. */
    on(type, fn) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type).add(fn);
      return () => handlers.get(type).delete(fn);
    },
    /** Send a JSON message now, or when the connection (re)opens. False once closed. */
    send(message) {
      if (closed) return false;
      const text = JSON.stringify(message);
      if (ws && ws.readyState === WebSocket.OPEN) {
        ws.send(text);
        return true;
      }
      if (queue.length >= MAX_QUEUE) queue.shift();
      queue.push(text);
      return true;
    },
    get connected() {
      return Boolean(ws && ws.readyState === WebSocket.OPEN);
    },
    close() {
      closed = true;
      queue.length = 0;
      if (timer) clearTimeout(timer);
      if (ws) ws.close(1000);
    },
  };
}
