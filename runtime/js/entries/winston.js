// Segment exposes winston as `winstonlib.winston`. Its Console transport writes to
// process.stdout/stderr when they exist and otherwise picks console methods by a
// fixed list; here every level goes to the captured console method of the same
// severity, so the Test panel and Event Delivery keep the level.
const winston = require('winston');
const { LEVEL, MESSAGE } = require('triple-beam');

const METHOD = {
  __proto__: null,
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  error: 'error',
  warning: 'warn',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  http: 'info',
  verbose: 'debug',
  debug: 'debug',
  silly: 'debug',
};

winston.transports.Console.prototype.log = function log(info, callback) {
  const method = METHOD[info[LEVEL]] || 'log';
  globalThis.console[method](info[MESSAGE]);
  Promise.resolve().then(() => this.emit('logged', info));
  if (typeof callback === 'function') callback();
};

__fio_define('winston', { winston });
