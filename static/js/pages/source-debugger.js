// The Source Debugger (templates/pipeline/source_debugger.html): the source's events,
// live, each with its type, name or user, received time and expandable JSON.
import { element, jsonDetails, startLiveList } from '../lib/live-list.js';

function renderEvent(item) {
  const row = element('li', 'live-item');
  row.dataset.id = item.id;
  const head = element('div', 'live-head');
  head.append(
    element('span', 'badge', item.type),
    element('strong', '', item.name || item.userId || item.anonymousId || ''),
    element('span', 'muted', item.userId ? `userId ${item.userId}` : ''),
    element('time', 'muted', item.receivedAt),
  );
  row.append(head, jsonDetails('JSON', item.event));
  return row;
}

startLiveList(renderEvent);
