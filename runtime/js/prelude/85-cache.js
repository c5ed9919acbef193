// Prelude, piece 85: the `cache` global (cache.load(key, ttlMs, fn), cache.delete).
// `maxCacheEntries` is the installer's second argument (host/loading.js).
// Uses: G, MapC, OrigPromise, apply, hidden, map*, now (00).
//
// Per function (per context), bounded in entries, TTL in ms (-1: no expiry).
// A value being computed is shared: concurrent loads await the same promise.
const store = new MapC();
const cache = {
  load(key, ttl, fn) {
    if (typeof ttl === 'function' && fn === undefined) {
      fn = ttl;
      ttl = -1;
    }
    if (typeof fn !== 'function') {
      return OrigPromise.reject(new TypeError('cache.load(key, ttlMs, fn): fn must be a function'));
    }
    const k = String(key);
    const t = now();
    const hit = apply(mapGet, store, [k]);
    if (hit !== undefined && (hit.expires === -1 || hit.expires > t)) return hit.promise;
    const ms = ttl === undefined || ttl === null ? -1 : Number(ttl);
    // biome-ignore lint/suspicious/noSelfCompare: the NaN test; Number.isNaN is a global user code can replace
    const entry = { expires: ms < 0 || ms !== ms ? -1 : t + ms, promise: null };
    entry.promise = new OrigPromise((resolve) => resolve(fn())).then(undefined, (e) => {
      if (apply(mapGet, store, [k]) === entry) apply(mapDelete, store, [k]);
      throw e;
    });
    apply(mapDelete, store, [k]);
    apply(mapSet, store, [k, entry]);
    if (store.size > maxCacheEntries) {
      // Oldest inserted entry first.
      for (const old of store.keys()) {
        apply(mapDelete, store, [old]);
        if (store.size <= maxCacheEntries) break;
      }
    }
    return entry.promise;
  },
  delete(key) {
    return apply(mapDelete, store, [String(key)]);
  },
};
hidden(G, 'cache', cache);
