// Segment exposes node-mailjet as `nodemailjet.nodemailjet`. Its web build is an AMD
// module (shims/amd.js keeps what it defines) carrying its own axios, whose XHR
// adapter runs on shims/xhr.js (the realm's fetch).
// `connect(apiKey, apiSecret, options)`, the call of node-mailjet 3 that older
// functions make, is kept on top of version 6's `apiConnect`.
require('node-mailjet');
const defined = require('../shims/amd.js').definedModule();
// As `require('node-mailjet')` is in Node: the Client class, with the other exports on it.
const Mailjet = defined.default;
for (const k of Object.keys(defined)) if (k !== 'default' && !(k in Mailjet)) Mailjet[k] = defined[k];
if (typeof Mailjet.connect !== 'function') {
  Mailjet.connect = (apiKey, apiSecret, options) => {
    const o = options || {};
    const config = {};
    if (o.url) config.host = o.url;
    if (o.version) config.version = o.version;
    return Mailjet.apiConnect(apiKey, apiSecret, {
      config,
      options: o.timeout ? { timeout: o.timeout } : {},
    });
  };
}
__fio_define('mailjet', { nodemailjet: Mailjet });
