// `twilio(accountSid, authToken, options)`; its REST client's axios sends through
// the realm's fetch (shims/axios-fetch.js).
const axios = require('axios');
axios.defaults.adapter = require('../shims/axios-fetch.js')(axios);
__fio_define('twilio', require('twilio'));
