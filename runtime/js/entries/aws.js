// aws-sdk v2, as `AWS`: its browser build (pure-JS hashing, XHR transport on the
// realm's fetch through shims/xhr.js), with only the services functions use, since
// the full SDK is tens of megabytes to evaluate in every context that mentions AWS.
const AWS = require('aws-sdk/lib/core');
require('aws-sdk/clients/s3');
require('aws-sdk/clients/lambda');
require('aws-sdk/clients/kinesis');
require('aws-sdk/clients/firehose');
require('aws-sdk/clients/sqs');
require('aws-sdk/clients/sns');
require('aws-sdk/clients/dynamodb');
require('aws-sdk/clients/sts');
__fio_define('aws', AWS);
