// The package's web build: its HTTP client is the realm's fetch, so every API call
// is egress-checked and traced like the function's own fetches.
__fio_define('stripe', require('stripe'));
