// JSON webhook: POST every event, as JSON, to the URL in the settings.
//
// Settings (Settings tab -> settings.<name>):
//   settings.url           the endpoint that receives the events (required)
//   settings.sharedSecret  optional; sent in a header so the receiver can check the sender
//   settings.secretHeader  optional name of that header (default X-Webhook-Secret)
//
// Outcomes: a network error, a 5xx or a 429 answer throws RetryError (delivered again
// later, with backoff); any other non-2xx answer is final (Bad Request, not retried).

const DEFAULT_SECRET_HEADER = 'X-Webhook-Secret';

async function sendEvent(event, settings) {
  const headers = { 'Content-Type': 'application/json' };
  if (settings.sharedSecret) {
    headers[settings.secretHeader || DEFAULT_SECRET_HEADER] = settings.sharedSecret;
  }

  let response;
  try {
    response = await fetch(settings.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(event),
    });
  } catch (error) {
    throw new RetryError(`Could not reach the webhook: ${error.message}`);
  }

  if (response.status >= 500 || response.status === 429) {
    throw new RetryError(`The webhook answered ${response.status}`);
  }
  if (!response.ok) {
    const detail = (await response.text()).slice(0, 200);
    throw new Error(`The webhook refused the event (${response.status}): ${detail}`);
  }
  return { status: response.status };
}

// Every event type is forwarded unchanged; the receiver tells them apart by event.type.
/** @param {SpecTrack} event @param {FunctionSettings} settings */
async function onTrack(event, settings) {
  return sendEvent(event, settings);
}

/** @param {SpecIdentify} event @param {FunctionSettings} settings */
async function onIdentify(event, settings) {
  return sendEvent(event, settings);
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  return sendEvent(event, settings);
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  return sendEvent(event, settings);
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  return sendEvent(event, settings);
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  return sendEvent(event, settings);
}

/** @param {SpecDelete} event @param {FunctionSettings} settings */
async function onDelete(event, settings) {
  return sendEvent(event, settings);
}
