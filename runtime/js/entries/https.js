__fio_define('https', require('../shims/https.js'));
