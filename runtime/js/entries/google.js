// Segment exposes the @google-cloud clients as `google.cloud.<name>`. Those with a
// REST transport run here (BigQuery, Storage: their requests go through the realm's
// fetch, service-account credentials signed in the realm). The others speak gRPC
// only, which needs raw sockets: reading them throws an error that names the REST
// endpoint to call with fetch instead, rather than handing back undefined.
const REST_INSTEAD = {
  automl:
    'POST https://automl.googleapis.com/v1/projects/PROJECT/locations/LOCATION/models/MODEL:predict',
  datastore:
    'POST https://datastore.googleapis.com/v1/projects/PROJECT:commit (and :lookup, :runQuery)',
  firestore:
    'https://firestore.googleapis.com/v1/projects/PROJECT/databases/(default)/documents/COLLECTION',
  functions:
    "the function's HTTPS trigger URL, or https://cloudfunctions.googleapis.com/v2/projects/PROJECT/locations/LOCATION/functions",
  pubsub: 'POST https://pubsub.googleapis.com/v1/projects/PROJECT/topics/TOPIC:publish',
  tasks:
    'POST https://cloudtasks.googleapis.com/v2/projects/PROJECT/locations/LOCATION/queues/QUEUE/tasks',
};

const cloud = {};
Object.defineProperty(cloud, 'bigquery', {
  value: require('@google-cloud/bigquery'),
  enumerable: true,
});
Object.defineProperty(cloud, 'storage', {
  value: require('@google-cloud/storage'),
  enumerable: true,
});
for (const name of Object.keys(REST_INSTEAD)) {
  Object.defineProperty(cloud, name, {
    enumerable: true,
    get() {
      const err = new Error(
        `google.cloud.${name} is not available in this runtime: its client needs gRPC, ` +
          `which needs raw sockets. Call its REST API with fetch instead: ${REST_INSTEAD[name]} ` +
          '(with an OAuth 2 access token in the Authorization header)',
      );
      err.code = 'ERR_GRPC_UNAVAILABLE';
      throw err;
    },
  });
}
__fio_define('google', { cloud });
