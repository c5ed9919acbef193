// Batch webhook: with batching enabled on the destination, onBatch receives up to a few
// hundred events at once. As in Segment's "Default Batch", they are grouped by type and
// each group is posted in one request:
//   POST settings.url   {"type": "track", "events": [...]}
// The handler returns one {status, errormessage} per event, in the order received, so
// that only the events of a failed group are retried. Without batching, the single-event
// handlers below post a group of one.
//
// Settings (Settings tab -> settings.<name>):
//   settings.url     the endpoint that receives the groups (required)
//   settings.apiKey  optional; sent as "Authorization: Bearer <apiKey>"

const RETRYABLE = (status) => status >= 500 || status === 429;

/**
 * Post one group of events of the same type.
 * @returns {Promise<{status: number, errormessage?: string}>} the group's result
 */
async function postGroup(type, events, settings) {
  const headers = { 'Content-Type': 'application/json', 'X-Event-Type': type };
  if (settings.apiKey) headers.Authorization = `Bearer ${settings.apiKey}`;

  let response;
  try {
    response = await fetch(settings.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ type, events }),
    });
  } catch (error) {
    // Reported as a server error: retried like one.
    return { status: 500, errormessage: `Could not reach the webhook: ${error.message}` };
  }
  if (response.ok) return { status: 200 };
  const detail = (await response.text()).slice(0, 200);
  return {
    status: response.status,
    errormessage: `The webhook answered ${response.status}: ${detail}`,
  };
}

/**
 * @param {SpecEvent[]} events - the batch, in the order it was received
 * @param {FunctionSettings} settings
 */
async function onBatch(events, settings) {
  // type -> indexes of its events in the batch
  const groups = new Map();
  events.forEach((event, index) => {
    const type = event.type || 'unknown';
    if (!groups.has(type)) groups.set(type, []);
    groups.get(type).push(index);
  });

  // The groups are independent: post them concurrently.
  const results = new Array(events.length);
  await Promise.all(
    [...groups].map(async ([type, indexes]) => {
      const result = await postGroup(type, indexes.map((i) => events[i]), settings);
      for (const i of indexes) results[i] = result;
    }),
  );
  const types = [...groups.keys()].join(', ');
  console.log(`posted ${events.length} events in ${groups.size} group(s): ${types}`);
  return results;
}

// Single events (batching off): a group of one, and errors as exceptions.
async function sendOne(event, settings) {
  const result = await postGroup(event.type, [event], settings);
  if (RETRYABLE(result.status)) throw new RetryError(result.errormessage);
  if (result.status !== 200) throw new Error(result.errormessage);
}

/** @param {SpecTrack} event @param {FunctionSettings} settings */
async function onTrack(event, settings) {
  await sendOne(event, settings);
}

/** @param {SpecIdentify} event @param {FunctionSettings} settings */
async function onIdentify(event, settings) {
  await sendOne(event, settings);
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  await sendOne(event, settings);
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  await sendOne(event, settings);
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  await sendOne(event, settings);
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  await sendOne(event, settings);
}

/** @param {SpecDelete} event @param {FunctionSettings} settings */
async function onDelete(event, settings) {
  await sendOne(event, settings);
}
