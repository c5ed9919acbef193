__fio_define('xml', require('xml'));
