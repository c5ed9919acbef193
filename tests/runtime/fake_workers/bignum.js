'use strict';
// A worker whose replies to odd call ids hold an integer Python's json refuses (over
// 4,300 digits): only those calls may fail; the worker must not be killed for them.
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\n')) !== -1) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    const msg = JSON.parse(line.split('\t')[0]);
    if (msg.t === 'hb') process.stdout.write('{"t":"hb"}\n');
    else if (msg.t === 'i') {
      const value = msg.i % 2 === 1 ? '1'.repeat(5000) : '"ok"';
      process.stdout.write(`{"t":"r","i":${msg.i},"o":"success","r":${value}}\n`);
    }
  }
});
