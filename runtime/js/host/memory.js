'use strict';
// Memory shared by the contexts of this worker: garbage collection (for `ping` and
// for relief), and dropping idle contexts under pressure.
//
// Rules kept here: the heap and the off-heap memory (ArrayBuffers, capped by the OS
// data limit) are shared by every context on this worker: memory one function parks
// in its globals must not make the next function run out of it (and be blamed). When
// either stays above half its limit (a quarter of the OS data limit for off-heap
// memory) after a full collection, idle contexts (nothing in flight) are dropped one
// at a time, least recently used first, until it no longer does (their globals are a
// cache, as on Segment). When dropping does not help (the memory is held by calls in
// flight), nothing more is dropped until usage grows again, and full collections are
// rate-limited. The context being entered is never dropped.
const vm = require('node:vm');
const v8 = require('node:v8');
const config = require('./config');
const { contexts, dropContext } = require('./contexts');
const { entry } = require('./guard');

// A garbage-collect function for the host only (memory figures in `ping`): the
// flag is on just long enough to create one throwaway context, before any function
// context exists, so no function ever gets a `gc` global.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc');
v8.setFlagsFromString('--no-expose-gc');

const HEAP_HIGH = ((config.memoryMb || 128) * 1024 * 1024) / 2;
const EXTERNAL_HIGH = (Math.max(1024, 4 * (config.memoryMb || 128)) * 1024 * 1024) / 4;
const HEAP_RECHECK_MS = 1000;
const EVICT_MAX_PER_ROUND = 8;
const HELP_BYTES = 1024 * 1024; // a drop that frees less than this did not help
const REGROW_BYTES = 8 * 1024 * 1024;
let heapQuietUntil = 0;
let noHelpAt = Infinity; // usage when dropping last did not help
function memoryUsed() {
  const s = v8.getHeapStatistics();
  return [s.used_heap_size, s.external_memory];
}
function pressure(used) {
  return used[0] >= HEAP_HIGH || used[1] >= EXTERNAL_HIGH;
}
function relieveMemory(force) {
  let used = memoryUsed();
  if (!pressure(used)) {
    noHelpAt = Infinity;
    return;
  }
  const now = Date.now();
  if (now < heapQuietUntil) return;
  heapQuietUntil = now + HEAP_RECHECK_MS; // at most one round of collections a second
  collectGarbage();
  used = memoryUsed();
  if (!pressure(used)) {
    noHelpAt = Infinity;
    return;
  }
  if (!force && noHelpAt !== Infinity && used[0] + used[1] < noHelpAt + REGROW_BYTES) return;
  let dropped = 0;
  for (const ctx of [...contexts.values()]) {
    // oldest first
    if (dropped >= EVICT_MAX_PER_ROUND) break;
    if (ctx.inflight.size !== 0 || ctx.dead || ctx === entry.running) continue;
    const before = used[0] + used[1];
    dropContext(ctx);
    dropped++;
    collectGarbage();
    used = memoryUsed();
    if (!pressure(used)) {
      noHelpAt = Infinity;
      return;
    }
    if (before - (used[0] + used[1]) < HELP_BYTES && !force) {
      // This one held nothing: the memory is most likely held by calls in flight.
      noHelpAt = used[0] + used[1];
      return;
    }
  }
  if (dropped === 0) noHelpAt = used[0] + used[1];
}

// An allocation failed in a call while other functions' contexts hold memory
// (host/bridge.js, 'done'): relieve it now, whatever the rate limit.
function relieveMemoryNow() {
  heapQuietUntil = 0;
  relieveMemory(true);
}

module.exports = { collectGarbage, relieveMemory, relieveMemoryNow };
