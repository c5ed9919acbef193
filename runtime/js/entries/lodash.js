__fio_define('lodash', require('lodash'));
