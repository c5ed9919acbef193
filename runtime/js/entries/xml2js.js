__fio_define('xml2js', require('xml2js'));
