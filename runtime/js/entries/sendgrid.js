// Segment exposes @sendgrid/client and @sendgrid/mail as `sendgrid.client` and
// `sendgrid.mail` (the mail module has a client of its own: `sendgrid.mail.client`).
// Their axios sends through the realm's fetch (shims/axios-fetch.js).
const axios = require('axios');
axios.defaults.adapter = require('../shims/axios-fetch.js')(axios);
__fio_define('sendgrid', { client: require('@sendgrid/client'), mail: require('@sendgrid/mail') });
