module.exports = require('./http.js').__make('https:');
