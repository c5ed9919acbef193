__fio_define('oauth', require('oauth'));
