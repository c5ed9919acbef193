// Prelude, piece 90: library loading. The host evaluates in this realm, after the
// prelude and before the code, the bundles (dist/*.js, built by build.js) that the
// code mentions (host/loading.js, LIBRARIES); they never see a host object.
// Uses: G, hidden (00).
//
// Library bundles (dist/*.js) end by calling this with their exports.
const LIB_GLOBALS = {
  __proto__: null,
  buffer: null,
  lodash: '_',
  moment: 'moment',
  uuidv5: 'uuidv5',
  xml: 'xml',
  xml2js: 'xml2js',
  jsonwebtoken: 'jsonwebtoken',
  formdata: 'FormData',
  oauth: 'OAuth',
  zlib: 'zlib',
  https: 'https',
  winston: 'winstonlib',
  stripe: 'stripe',
  sendgrid: 'sendgrid',
  twilio: 'twilio',
  mailjet: 'nodemailjet',
  hubspot: 'hubspotlib',
  jsforce: 'jsforce',
  aws: 'AWS',
  google: 'google',
  skyflow: 'skyflowlib',
};
hidden(G, '__fio_define', function (name, value) {
  if (!(name in LIB_GLOBALS)) return;
  if (name === 'buffer') {
    hidden(G, 'Buffer', value.Buffer);
  } else {
    hidden(G, LIB_GLOBALS[name], value);
  }
  if (name === 'jsonwebtoken') hidden(G, 'jwt', value);
});
