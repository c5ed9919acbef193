'use strict';
// The contexts this worker keeps, one per function version (key
// "function:version"), in LRU order, with what is queued for each; and eviction.
//
// Rules kept here: beyond MAX_CONTEXTS, idle contexts (nothing in flight) are
// dropped, least recently used first; a dropped context is never entered again
// (`dead`), and Python is told ({"t":"d"}) so that it sends the code again.
const config = require('./config');
const { send } = require('./output');

const MAX_CONTEXTS = config.maxContexts || 100; // LRU of loaded function versions

const contexts = new Map(); // key -> Ctx, in LRU order (oldest first)

class Ctx {
  constructor(key) {
    this.key = key;
    this.global = null;
    this.queue = []; // JSON texts of messages waiting for the next dispatch
    this.owners = []; // the invocation each of them is for (null: none)
    this.deadline = 0; // earliest deadline in flight, when it was last scheduled
    this.inflight = new Set();
    this.scheduled = false;
    this.dead = false;
  }
}

// Queue a message (JSON text) for the context's next dispatch (host/scheduler.js),
// for call `inv` (null: for none).
function enqueue(ctx, inv, text) {
  ctx.queue.push(text);
  ctx.owners.push(inv);
}

function touch(ctx) {
  contexts.delete(ctx.key);
  contexts.set(ctx.key, ctx);
}

function evictIfNeeded() {
  if (contexts.size <= MAX_CONTEXTS) return;
  for (const ctx of contexts.values()) {
    if (contexts.size <= MAX_CONTEXTS) break;
    if (ctx.inflight.size === 0) dropContext(ctx);
  }
}

function dropContext(ctx) {
  if (ctx.dead) return;
  ctx.dead = true;
  contexts.delete(ctx.key);
  ctx.global = null;
  // Python must send the code again next time (it never relies on a guess).
  send('{"t":"d","k":' + JSON.stringify(ctx.key) + '}\n');
}

function othersHoldMemory(ctx) {
  for (const other of contexts.values()) if (other !== ctx) return true;
  return false;
}

module.exports = { Ctx, contexts, enqueue, touch, evictIfNeeded, dropContext, othersHoldMemory };
