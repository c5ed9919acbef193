// CRM upsert: every identify event creates or updates a contact, matched on email, through
// a REST API with HTTP Basic authentication:
//   POST <settings.baseUrl>/contacts/upsert   {"match": "email", "contact": {...}}
//
// Settings (Settings tab -> settings.<name>):
//   settings.baseUrl   the API's base URL, e.g. https://crm.example.com/api/v2 (required)
//   settings.username  API user name (required)
//   settings.password  API password or token (required, encrypted)
//
// Outcomes: no email -> ValidationError (Message Rejected, not retried); 401/403 ->
// InvalidSettings; 5xx, 429 and network errors -> RetryError (retried); 400/422 ->
// ValidationError with the CRM's reason; track, page... -> EventNotSupported.

function authorization(settings) {
  // btoa() takes Latin-1 text: fine for API user names and tokens.
  return `Basic ${btoa(`${settings.username}:${settings.password}`)}`;
}

function contactFrom(event) {
  const traits = event.traits || {};
  const email = traits.email || event.context?.traits?.email;
  if (!email) {
    throw new ValidationError('identify has no traits.email: the CRM matches contacts on it');
  }
  const { firstName, lastName, phone, title, address, company, ...custom } = traits;
  delete custom.email;
  return {
    email: email.trim().toLowerCase(),
    externalId: event.userId ?? null,
    firstName: firstName ?? null,
    lastName: lastName ?? null,
    phone: phone ?? null,
    jobTitle: title ?? null,
    company: typeof company === 'object' ? company?.name ?? null : company ?? null,
    city: address?.city ?? null,
    country: address?.country ?? null,
    // Anything else goes to custom fields, flat values only.
    customFields: _.pickBy(custom, (value) => value === null || typeof value !== 'object'),
    lastSeenAt: event.timestamp ?? null,
  };
}

/** @param {SpecIdentify} event @param {FunctionSettings} settings */
async function onIdentify(event, settings) {
  const contact = contactFrom(event);
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/contacts/upsert`;

  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        Authorization: authorization(settings),
        'Content-Type': 'application/json',
        Accept: 'application/json',
      },
      body: JSON.stringify({ match: 'email', contact }),
    });
  } catch (error) {
    throw new RetryError(`Could not reach the CRM: ${error.message}`);
  }

  if (response.status >= 500 || response.status === 429) {
    throw new RetryError(`The CRM answered ${response.status}`);
  }
  if (response.status === 401 || response.status === 403) {
    throw new InvalidSettings('The CRM refused the user name or password');
  }
  if (response.status === 400 || response.status === 422) {
    throw new ValidationError(`The CRM rejected the contact: ${await response.text()}`);
  }
  if (!response.ok) {
    throw new Error(`The CRM answered ${response.status}`);
  }
  const body = await response.json().catch(() => ({}));
  console.log(`contact ${contact.email} ${body.created ? 'created' : 'updated'}`);
  return { id: body.id ?? null, created: Boolean(body.created) };
}

/** @param {SpecTrack} event @param {FunctionSettings} settings */
async function onTrack(event, settings) {
  throw new EventNotSupported('only identify events update contacts');
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  throw new EventNotSupported('only identify events update contacts');
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  throw new EventNotSupported('only identify events update contacts');
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  throw new EventNotSupported('only identify events update contacts');
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  throw new EventNotSupported('only identify events update contacts');
}

/** @param {SpecDelete} event @param {FunctionSettings} settings */
async function onDelete(event, settings) {
  throw new EventNotSupported('only identify events update contacts');
}
