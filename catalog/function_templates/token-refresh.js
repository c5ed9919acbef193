// OAuth token refresh: the API wants a short-lived access token, obtained with the OAuth 2
// client-credentials grant. The token is kept in `cache` (per function, shared by the
// invocations a worker runs) so that it is fetched once, not once per event:
//   cache.load(key, ttlMs, async () => value)  returns the cached value, or computes it
//   cache.delete(key)                          forgets it
// Like any global, the cache may be emptied at any time: code must work without it.
//
// Each event is then sent with "Authorization: Bearer <token>":
//   POST settings.apiUrl   the event as JSON
//
// Settings (Settings tab -> settings.<name>):
//   settings.tokenUrl      the OAuth token endpoint (required)
//   settings.clientId      OAuth client id (required)
//   settings.clientSecret  OAuth client secret (required, encrypted)
//   settings.scope         optional scope(s), space separated
//   settings.apiUrl        the endpoint that receives the events (required)
//
// Outcomes: a 401 from the API means the token expired or was revoked: it is dropped
// from the cache and the event retried (RetryError), with a new token next time. 5xx, 429
// and network errors are retried too; the token endpoint refusing the client (400/401) is
// InvalidSettings.

const TOKEN_TTL_MS = 55 * 60 * 1000; // at most; a shorter expires_in wins
const EXPIRY_MARGIN_MS = 60 * 1000; // renew a minute before the token expires

async function requestToken(settings) {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (settings.scope) form.set('scope', settings.scope);

  let response;
  try {
    response = await fetch(settings.tokenUrl, {
      method: 'POST',
      headers: {
        // RFC 6749 section 2.3.1: client id and secret, form-encoded, as Basic credentials.
        Authorization: `Basic ${btoa(
          `${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`,
        )}`,
        Accept: 'application/json',
      },
      body: form,
    });
  } catch (error) {
    throw new RetryError(`Could not reach the token endpoint: ${error.message}`);
  }
  if (response.status >= 500 || response.status === 429) {
    throw new RetryError(`The token endpoint answered ${response.status}`);
  }
  if (!response.ok) {
    throw new InvalidSettings(`The token endpoint refused the client (${response.status})`);
  }
  const body = await response.json();
  if (!body.access_token) throw new RetryError('The token endpoint sent no access_token');
  const lifetimeMs = (Number(body.expires_in) || 3600) * 1000;
  console.log('fetched a new access token');
  return { accessToken: body.access_token, expiresAt: Date.now() + lifetimeMs - EXPIRY_MARGIN_MS };
}

// One cache entry per client: two destinations of this function with different clients
// never share a token.
function tokenKey(settings) {
  return `token:${settings.tokenUrl}:${settings.clientId}`;
}

async function accessToken(settings) {
  const key = tokenKey(settings);
  let token = await cache.load(key, TOKEN_TTL_MS, () => requestToken(settings));
  if (token.expiresAt <= Date.now()) {
    cache.delete(key);
    token = await cache.load(key, TOKEN_TTL_MS, () => requestToken(settings));
  }
  return token.accessToken;
}

async function send(event, settings) {
  const token = await accessToken(settings);
  let response;
  try {
    response = await fetch(settings.apiUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
    });
  } catch (error) {
    throw new RetryError(`Could not reach the API: ${error.message}`);
  }
  if (response.status === 401) {
    cache.delete(tokenKey(settings));
    throw new RetryError('The API refused the access token; a new one will be fetched');
  }
  if (response.status >= 500 || response.status === 429) {
    throw new RetryError(`The API answered ${response.status}`);
  }
  if (!response.ok) {
    throw new Error(`The API refused the event (${response.status}): ${await response.text()}`);
  }
}

/** @param {SpecTrack} event @param {FunctionSettings} settings */
async function onTrack(event, settings) {
  await send(event, settings);
}

/** @param {SpecIdentify} event @param {FunctionSettings} settings */
async function onIdentify(event, settings) {
  await send(event, settings);
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  await send(event, settings);
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  await send(event, settings);
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  await send(event, settings);
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  await send(event, settings);
}

/** @param {SpecDelete} event @param {FunctionSettings} settings */
async function onDelete(event, settings) {
  await send(event, settings);
}
