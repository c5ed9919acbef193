'use strict';
// A worker that answers heartbeats but never a call: the pool must answer its calls
// by their deadline plus the grace, and replace it.
let buffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  let nl;
  while ((nl = buffer.indexOf('\n')) !== -1) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (JSON.parse(line.split('\t')[0]).t === 'hb') process.stdout.write('{"t":"hb"}\n');
  }
});
