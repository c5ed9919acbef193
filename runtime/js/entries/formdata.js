__fio_define('formdata', require('../shims/formdata.js'));
