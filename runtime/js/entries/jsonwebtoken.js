__fio_define('jsonwebtoken', require('jsonwebtoken'));
