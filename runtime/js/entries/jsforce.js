// jsforce's browser build; its requests go through the realm's fetch
// (shims/jsforce-request.js, wired in by build.js).
__fio_define('jsforce', require('jsforce'));
