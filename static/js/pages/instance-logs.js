// Function Logs (templates/pipeline/instance_logs.html): each invocation of the instance,
// live, with its outcome, error, console output and outgoing requests.
import { element, jsonDetails, startLiveList } from '../lib/live-list.js';

function renderAttempt(item) {
  const row = element('li', 'live-item');
  row.dataset.id = item.id;
  const head = element('div', 'live-head');
  const ok = item.outcome === 'success';
  head.append(
    element('span', ok ? 'badge ok' : 'badge', item.outcome),
    element('strong', '', `${item.event.type} ${item.event.name}`.trim()),
    element('span', 'muted', `attempt ${item.attempt} · ${item.duration_ms ?? '?'} ms`),
    element('time', 'muted', item.finished_at),
  );
  row.append(head);
  if (item.error_message) {
    row.append(element('p', 'live-error', `${item.error_type}: ${item.error_message}`));
  }
  if (item.logs.length) {
    const logs = element('pre', 'live-logs');
    logs.textContent = item.logs.map((line) => `[${line.level}] ${line.message}`).join('\n');
    row.append(logs);
  }
  if (item.requests.length)
    row.append(jsonDetails(`${item.requests.length} request(s)`, item.requests));
  return row;
}

startLiveList(renderAttempt);
