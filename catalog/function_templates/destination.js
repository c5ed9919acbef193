// Destination function: each handler receives one event and the settings of the
// destination instance, and sends the event wherever you need.
// Throw RetryError to have the platform retry later; throw ValidationError or
// InvalidEventPayload to reject an event; throw EventNotSupported to ignore a type.

/**
 * Handle a track event.
 * @param {object} event - the Segment track event
 * @param {object} settings - the destination instance's settings
 */
async function onTrack(event, settings) {
  const endpoint = 'https://example.com/events'; // replace with your API's URL
  let response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
    });
  } catch (error) {
    // A network error is worth another try.
    throw new RetryError(error.message);
  }
  if (response.status >= 500 || response.status === 429) {
    // Server errors and rate limits are retried; other statuses are final.
    throw new RetryError(`Failed with ${response.status}`);
  }
}

async function onIdentify(event, settings) {
  throw new EventNotSupported('identify is not supported');
}

async function onGroup(event, settings) {
  throw new EventNotSupported('group is not supported');
}

async function onPage(event, settings) {
  throw new EventNotSupported('page is not supported');
}

async function onScreen(event, settings) {
  throw new EventNotSupported('screen is not supported');
}

async function onAlias(event, settings) {
  throw new EventNotSupported('alias is not supported');
}

async function onDelete(event, settings) {
  throw new EventNotSupported('delete is not supported');
}

/**
 * Handle a batch of events (enable batching on the destination to use it).
 * @param {object[]} events
 * @param {object} settings
 */
async function onBatch(events, settings) {
  throw new EventNotSupported('batch is not supported');
}
