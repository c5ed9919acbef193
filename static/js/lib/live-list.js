// A live list fed by a websocket of pipeline/consumers.py: `hello` carries the latest
// items (newest first), `new` the ones that appeared since. Each item is rendered by the
// page's `render(item)` into an <li>; the newest stay on top, at most MAX_ITEMS.
import { connectSocket } from './socket.js';

const MAX_ITEMS = 200;

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// A collapsed <details> showing `value` as indented JSON.
export function jsonDetails(summary, value) {
  const details = element('details', 'live-json');
  details.append(
    element('summary', '', summary),
    element('pre', '', JSON.stringify(value, null, 2)),
  );
  return details;
}

export function startLiveList(render) {
  const list = document.getElementById('live-list');
  const status = document.getElementById('live-status');
  if (!list) return;
  const empty = list.querySelector('[data-empty]');

  function prepend(items) {
    // Items come newest first: insert the oldest first so the newest ends on top.
    for (const item of [...items].reverse()) list.prepend(render(item));
    if (empty && items.length) empty.remove();
    while (list.children.length > MAX_ITEMS) list.lastElementChild.remove();
  }

  const socket = connectSocket(list.dataset.socket);
  socket.on('hello', (message) => {
    for (const node of [...list.children]) if (node !== empty) node.remove();
    prepend(message.items);
  });
  socket.on('new', (message) => prepend(message.items));
  socket.on('open', () => {
    status.textContent = 'live';
    status.className = 'badge ok';
  });
  socket.on('close', ({ refused, willRetry }) => {
    status.textContent = refused ? 'not allowed' : willRetry ? 'reconnecting…' : 'closed';
    status.className = 'badge';
  });
}
