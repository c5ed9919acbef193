__fio_define('uuidv5', require('uuid').v5);
