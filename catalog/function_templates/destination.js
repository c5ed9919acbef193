// Destination function: each handler receives one event and this destination's settings,
// and sends the event wherever you need. A type without a handler is "Unsupported".
//
// Settings: every setting you add in the Settings tab reaches the handlers as
// settings.<name> (the name is generated from the label: "URL" -> settings.url here,
// "API Key" -> settings.apiKey). Each destination instance fills in its own values;
// the Test tab holds values for test runs. Mark keys and passwords "Encrypted": they are
// stored encrypted and masked in logs and request traces.
//
// Errors decide what happens to the event:
//   return normally              -> Success
//   throw new RetryError(msg)    -> Retry: delivered again later, with backoff (use it for
//                                   network errors, 5xx and 429 answers)
//   running over the time limit  -> Timeout: also retried
//   throw new ValidationError(msg) or new InvalidEventPayload(msg)
//                                -> Message Rejected: the event itself is wrong, not retried
//   throw new InvalidSettings(msg)
//                                -> Invalid Settings: fix the configuration, not retried
//   throw new EventNotSupported(msg)
//                                -> Unsupported Event Type: ignored, not retried
//   throw new DropEvent(msg)     -> Dropped on purpose, not retried
//   any other error              -> Bad Request, not retried
// Only Retry and Timeout are retried. Available globals: fetch (node-fetch v2), crypto,
// btoa/atob, cache, console, _ (lodash), moment... (hover a name in the editor).

const DEFAULT_ENDPOINT = 'https://example.com/events'; // used until the URL setting is set

/**
 * POST a JSON body to the configured endpoint and turn the answer into an outcome.
 * @param {object} body
 * @param {object} settings
 */
async function postJson(body, settings) {
  const endpoint = settings.url || DEFAULT_ENDPOINT;
  let response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    // The network failed (DNS, refused connection, reset): worth another try.
    throw new RetryError(`Could not reach ${endpoint}: ${error.message}`);
  }
  if (response.status >= 500 || response.status === 429) {
    // Server errors and rate limits are temporary: retry later.
    throw new RetryError(`${endpoint} answered ${response.status}`);
  }
  if (!response.ok) {
    // Any other refusal is final: retrying the same event would fail the same way.
    throw new Error(`${endpoint} answered ${response.status}: ${await response.text()}`);
  }
  return response.status;
}

/**
 * Handle a track event: forward it as it is.
 * @param {SpecTrack} event - the Segment track event (event.event, event.properties...)
 * @param {FunctionSettings} settings - the destination instance's settings
 */
async function onTrack(event, settings) {
  await postJson(event, settings);
}

/**
 * Handle an identify event: send the user's traits.
 * @param {SpecIdentify} event - the Segment identify event (event.userId, event.traits...)
 * @param {FunctionSettings} settings
 */
async function onIdentify(event, settings) {
  if (!event.userId && !event.anonymousId) {
    throw new ValidationError('identify needs a userId or an anonymousId');
  }
  await postJson(
    {
      type: 'identify',
      userId: event.userId ?? null,
      anonymousId: event.anonymousId ?? null,
      traits: event.traits ?? {},
      timestamp: event.timestamp,
    },
    settings,
  );
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  throw new EventNotSupported('group is not supported');
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  throw new EventNotSupported('page is not supported');
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  throw new EventNotSupported('screen is not supported');
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  throw new EventNotSupported('alias is not supported');
}

/**
 * Handle a user deletion request (GDPR/CCPA): remove event.userId from your system here,
 * for example with fetch(`${settings.url}/users/${encodeURIComponent(event.userId)}`,
 * { method: 'DELETE' }).
 * @param {SpecDelete} event
 * @param {FunctionSettings} settings
 */
async function onDelete(event, settings) {
  throw new EventNotSupported('delete is not supported');
}

/**
 * Handle a batch of events (when batching is enabled on the destination). While it throws
 * EventNotSupported, events go one by one to the handlers above. To send batches, post
 * them and return one result per event, in order, so that only failed ones are retried:
 *   return events.map(() => ({ status: 200 }));   // or { status: 500, errormessage: '...' }
 * @param {SpecEvent[]} events
 * @param {FunctionSettings} settings
 */
async function onBatch(events, settings) {
  throw new EventNotSupported('batch is not supported');
}
