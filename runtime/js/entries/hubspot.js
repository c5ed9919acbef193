// Segment exposes @hubspot/api-client as `hubspotlib.hubspot` (`new Client(...)`).
// Its transport calls the global fetch: the realm's.
__fio_define('hubspot', { hubspot: require('@hubspot/api-client') });
