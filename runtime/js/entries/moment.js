__fio_define('moment', require('moment-timezone'));
