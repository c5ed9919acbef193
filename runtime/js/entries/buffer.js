__fio_define('buffer', require('buffer/'));
