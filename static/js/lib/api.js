// JSON calls to the Config API from pages: the session cookie authenticates, the CSRF
// token comes from Django's `csrftoken` cookie. Every call resolves (never rejects) to
// { ok, status, data }; data is the parsed JSON answer, or { detail } with a sentence
// a person can act on when the server could not be reached or did not answer JSON.

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const field = document.querySelector('input[name=csrfmiddlewaretoken]');
  return field ? field.value : '';
}

const NETWORK_ERROR =
  'Could not reach the server. Check your connection and try again; nothing was changed.';

function statusSentence(response) {
  if (response.status === 403) return 'Your role does not allow this.';
  if (response.status === 404) return 'Not found: it may have been deleted.';
  if (response.status === 429) return 'Too many requests: wait a moment and try again.';
  if (response.status >= 500) return `The server failed (${response.status}). Try again later.`;
  return `The server answered ${response.status} ${response.statusText}.`.trim();
}

/** Send `body` (JSON) with `method`; see the module comment for the answer. */
export async function apiSend(method, url, body, { signal } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRFToken'] = csrfToken();
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error && error.name === 'AbortError') {
      return { ok: false, status: 0, aborted: true, data: { detail: 'Cancelled.' } };
    }
    return { ok: false, status: 0, data: { detail: NETWORK_ERROR } };
  }
  let data = null;
  if (response.status !== 204) {
    const text = await response.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok && (data === null || typeof data !== 'object')) {
      data = { detail: statusSentence(response) };
    }
  }
  if (!response.ok && data && typeof data === 'object' && !data.detail) {
    data.detail = statusSentence(response);
  }
  return { ok: response.ok, status: response.status, data };
}

export function apiGet(url, options) {
  return apiSend('GET', url, undefined, options);
}

/** One sentence for an error answer: the detail, then each field's messages. */
export function errorMessage(result) {
  const data = result?.data || {};
  const parts = [];
  if (data.detail) parts.push(String(data.detail));
  const errors = data.errors && typeof data.errors === 'object' ? data.errors : {};
  for (const [field, messages] of Object.entries(errors)) {
    const text = [].concat(messages).map(String).join(' ');
    if (text && !parts.some((part) => part.includes(text))) {
      parts.push(field === 'non_field_errors' ? text : `${field}: ${text}`);
    }
  }
  return parts.join(' ') || 'Something went wrong.';
}
