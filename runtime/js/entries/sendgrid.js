// Segment exposes @sendgrid/client and @sendgrid/mail as `sendgrid.client` and
// `sendgrid.mail` (the mail module has a client of its own: `sendgrid.mail.client`).
__fio_define('sendgrid', { client: require('@sendgrid/client'), mail: require('@sendgrid/mail') });
