// Event Delivery page: the replay buttons (one discarded job, or every discarded one of a
// category or of the range shown). The counts, chart and failures are server-rendered.
import { apiSend, errorMessage } from '../lib/api.js';

const root = document.getElementById('delivery');
const status = document.getElementById('replay-status');

function replayBody(button) {
  const { job, category, since } = button.dataset;
  if (job) return { job: Number(job) };
  const body = {};
  if (category) body.category = category;
  if (since) body.since = since;
  return body;
}

function queuedSentence(queued) {
  if (queued === 0) return 'Nothing to replay: no discarded job matches.';
  return `Queued ${queued} job${queued === 1 ? '' : 's'} for delivery again.`;
}

async function replay(button) {
  button.disabled = true;
  status.textContent = 'Replaying…';
  const result = await apiSend('POST', root.dataset.replayUrl, replayBody(button));
  if (!result.ok) {
    status.textContent = errorMessage(result);
    button.disabled = false;
    return;
  }
  status.textContent = queuedSentence(result.data.queued);
  if (button.dataset.job) button.closest('.delivery-failure')?.classList.add('replayed');
}

root.addEventListener('click', (event) => {
  const button = event.target.closest('[data-replay]');
  if (button && !button.disabled) replay(button);
});
