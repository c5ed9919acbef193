'use strict';
// The worker's configuration: the limits configured on the Python side, passed by
// runtime/pool.py as JSON in the first argument. Each module keeps its own limits,
// with their defaults, next to the code they bound.
module.exports = JSON.parse(process.argv[2] || '{}');
