// Slack-style message: post a message to an incoming webhook (Slack, Mattermost, Rocket.Chat
// and others accept this shape) for track and identify events.
//
// The body holds a plain `text` (shown in notifications) and `blocks` (the formatted
// message): a header line and the event's properties or traits as fields.
//
// Settings (Settings tab -> settings.<name>):
//   settings.webhookUrl  the incoming webhook URL (required, encrypted: it is a secret)
//   settings.channel     optional channel override, e.g. "#growth"
//   settings.events      optional list of track event names to post (empty: all of them)
//
// Outcomes: network errors, 5xx and 429 -> RetryError; 403/404/410 (webhook revoked or
// channel gone) -> InvalidSettings; other types than track/identify -> EventNotSupported.

const MAX_FIELDS = 10; // Slack shows at most 10 fields in a section

function who(event) {
  const traits = event.traits || event.context?.traits || {};
  return traits.email || traits.name || event.userId || event.anonymousId || 'someone';
}

// Slack's mrkdwn treats &, < and > as markup.
function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fields(object) {
  return Object.entries(object || {})
    .filter(([, value]) => value !== null && typeof value !== 'object')
    .slice(0, MAX_FIELDS)
    .map(([key, value]) => ({ type: 'mrkdwn', text: `*${escape(key)}*\n${escape(value)}` }));
}

function message(text, details, settings) {
  /** @type {object[]} */
  const blocks = [{ type: 'section', text: { type: 'mrkdwn', text } }];
  const detailFields = fields(details);
  if (detailFields.length) blocks.push({ type: 'section', fields: detailFields });
  const body = { text, blocks };
  if (settings.channel) body.channel = settings.channel;
  return body;
}

async function post(body, settings) {
  let response;
  try {
    response = await fetch(settings.webhookUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new RetryError(`Could not reach the webhook: ${error.message}`);
  }
  if (response.status >= 500 || response.status === 429) {
    throw new RetryError(`The webhook answered ${response.status}`);
  }
  if ([403, 404, 410].includes(response.status)) {
    throw new InvalidSettings(`The webhook is no longer valid (${response.status})`);
  }
  if (!response.ok) {
    // Slack answers 400 with a reason such as "invalid_payload".
    throw new Error(`The webhook refused the message: ${await response.text()}`);
  }
}

/** @param {SpecTrack} event @param {FunctionSettings} settings */
async function onTrack(event, settings) {
  const wanted = settings.events || [];
  if (wanted.length && !wanted.includes(event.event)) {
    throw new DropEvent(`${event.event} is not in the list of events to post`);
  }
  const text = `:bell: *${escape(event.event)}* by ${escape(who(event))}`;
  await post(message(text, event.properties, settings), settings);
}

/** @param {SpecIdentify} event @param {FunctionSettings} settings */
async function onIdentify(event, settings) {
  const traits = event.traits || {};
  const name = traits.name || [traits.firstName, traits.lastName].filter(Boolean).join(' ');
  const text = `:wave: New or updated user *${escape(name || who(event))}*`;
  await post(message(text, traits, settings), settings);
}

/** @param {SpecPage} event @param {FunctionSettings} settings */
async function onPage(event, settings) {
  throw new EventNotSupported('page events are not posted');
}

/** @param {SpecScreen} event @param {FunctionSettings} settings */
async function onScreen(event, settings) {
  throw new EventNotSupported('screen events are not posted');
}

/** @param {SpecGroup} event @param {FunctionSettings} settings */
async function onGroup(event, settings) {
  throw new EventNotSupported('group events are not posted');
}

/** @param {SpecAlias} event @param {FunctionSettings} settings */
async function onAlias(event, settings) {
  throw new EventNotSupported('alias events are not posted');
}

/** @param {SpecDelete} event @param {FunctionSettings} settings */
async function onDelete(event, settings) {
  throw new EventNotSupported('delete events are not posted');
}
