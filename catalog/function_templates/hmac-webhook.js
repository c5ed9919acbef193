// HMAC-signed webhook: POST each event as JSON, signed so that the receiver can check that
// it comes from this function and was not altered or replayed.
//
// Headers sent with every request:
//   X-Signature-Timestamp: <unix time in seconds>
//   X-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the signing secret>
// The receiver recomputes the HMAC over the raw body it received, compares it in constant
// time, and refuses timestamps older than a few minutes.
//
// Settings (Settings tab -> settings.<name>):
//   settings.url            the endpoint (required)
//   settings.signingSecret  the shared signing secret (required, encrypted)
//
// Outcomes: network errors, 5xx and 429 -> RetryError (retried); other non-2xx -> final.

function sign(body, secret, timestamp) {
  return crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

async function sendSigned(event, settings) {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000).toString();

  let response;
  try {
    response = await fetch(settings.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Signature-Timestamp': timestamp,
        'X-Signature': `sha256=${sign(body, settings.signingSecret, timestamp)}`,
      },
      body,
    });
  } catch (error) {
    throw new RetryError(`Could not reach the webhook: ${error.message}`);
  }

  if (response.status >= 500 || response.status === 429) {
    throw new RetryError(`The webhook answered ${response.status}`);
  }
  if (response.status === 401 || response.status === 403) {
    // The receiver rejected the signature: most likely the secrets differ.
    throw new InvalidSettings(`The webhook refused the signature (${response.status})`);
  }
  if (!response.ok) {
    throw new Error(`The webhook refused the event (${response.status})`);
  }
}

/** @param {SpecTrack} event @param {FunctionSettings} settings */
async function onTrack(event, settings) {
  await sendSigned(event, settings);
}

/** @param {SpecIdentify} event @param {FunctionSettings} settings */
async function onIdentify(event, settings) {
  await sendSigned(event, settings);
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  await sendSigned(event, settings);
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  await sendSigned(event, settings);
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  await sendSigned(event, settings);
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  await sendSigned(event, settings);
}

/** @param {SpecDelete} event @param {FunctionSettings} settings */
async function onDelete(event, settings) {
  await sendSigned(event, settings);
}
