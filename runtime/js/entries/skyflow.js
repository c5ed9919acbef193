// Segment exposes skyflow-node as `skyflowlib.skyflow`. It carries its own copy of
// axios: both copies send through the realm's fetch (shims/axios-fetch.js).
const adapterFor = require('../shims/axios-fetch.js');
for (const axios of [require('axios'), require('../node_modules/skyflow-node/node_modules/axios')]) {
  axios.defaults.adapter = adapterFor(axios);
}
__fio_define('skyflow', { skyflow: require('skyflow-node') });
