// What a function's code sees in this runtime (runtime/README.md, "What user code sees"),
// declared for Monaco's TypeScript worker: completions, hovers and "Cannot find name"
// for anything else. Hand-written; keep it in step with runtime/js/prelude.js.
// `require`, `process`, `import()`, `eval`/`Function` and WebAssembly are not available,
// so they are not declared here.

// ---------------------------------------------------------------- Segment spec events

/** Where an event came from: library, device, page, campaign... (Segment spec: Context). */
interface SpecContext {
  /** Whether the user is active (identify: whether to update "last seen"). */
  active?: boolean;
  /** The library that sent the event, e.g. `{ name: "analytics.js", version: "next-1.70.0" }`. */
  library?: { name: string; version: string };
  /** The user's IP address. */
  ip?: string;
  /** The browser's or app's user agent. */
  userAgent?: string;
  /** Locale, e.g. `"en-US"`. */
  locale?: string;
  /** Time zone, e.g. `"Europe/Berlin"`. */
  timezone?: string;
  /** The page the event happened on (web sources). */
  page?: { path?: string; referrer?: string; search?: string; title?: string; url?: string };
  /** UTM campaign parameters. */
  campaign?: { name?: string; source?: string; medium?: string; term?: string; content?: string };
  /** The app that sent the event (mobile sources). */
  app?: { name?: string; version?: string; build?: string; namespace?: string };
  /** The device (mobile sources). */
  device?: {
    id?: string;
    manufacturer?: string;
    model?: string;
    name?: string;
    type?: string;
    advertisingId?: string;
  };
  /** The operating system. */
  os?: { name?: string; version?: string };
  /** The network the device was on. */
  network?: { wifi?: boolean; cellular?: boolean; carrier?: string; bluetooth?: boolean };
  /** The screen of the device. */
  screen?: { width?: number; height?: number; density?: number };
  /** Where the user was, when known. */
  location?: {
    city?: string;
    country?: string;
    latitude?: number;
    longitude?: number;
    region?: string;
  };
  /** The group the user belongs to (B2B). */
  groupId?: string;
  /** The user's traits, on events other than identify. */
  traits?: SpecTraits;
  [key: string]: any;
}

/** Reserved traits of a user (identify) or group (group); any others may appear too. */
interface SpecTraits {
  email?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  title?: string;
  username?: string;
  createdAt?: string;
  company?: { id?: string; name?: string; [key: string]: any };
  address?: {
    street?: string;
    city?: string;
    state?: string;
    postalCode?: string;
    country?: string;
  };
  plan?: string;
  [key: string]: any;
}

/** Fields every Segment event has (Segment spec: Common Fields). */
interface SpecCommon {
  /** The event's type: track, identify, page, screen, group, alias or delete. */
  type: string;
  /** Unique id of the message, used for de-duplication. */
  messageId: string;
  /** When the event happened (ISO 8601), corrected for clock skew. */
  timestamp: string;
  /** When the event happened, by the device's clock (ISO 8601). */
  originalTimestamp?: string;
  /** When the library sent the event (ISO 8601). */
  sentAt?: string;
  /** When the API received the event (ISO 8601). */
  receivedAt?: string;
  /** Your id of the user; an anonymousId is given instead while it is unknown. */
  userId?: string | null;
  /** A pseudo-unique id of a user not identified yet. */
  anonymousId?: string | null;
  /** Where the event came from: library, ip, userAgent, page, device... */
  context?: SpecContext;
  /** Destinations to send the event to or not, e.g. `{ All: true, Mixpanel: false }`. */
  integrations?: Record<string, boolean | Record<string, any>>;
  /** The spec's version. */
  version?: number;
  [key: string]: any;
}

/** A track event: a user did something (`analytics.track("Order Completed", {...})`). */
interface SpecTrack extends SpecCommon {
  type: 'track';
  /** The name of what happened, e.g. `"Order Completed"`. */
  event: string;
  /** Details of what happened, e.g. `{ revenue: 25, currency: "USD" }`. */
  properties: Record<string, any>;
}

/** An identify event: who the user is, and their traits. */
interface SpecIdentify extends SpecCommon {
  type: 'identify';
  /** What is known of the user: email, name, plan... */
  traits: SpecTraits;
}

/** A page event: the user saw a web page. */
interface SpecPage extends SpecCommon {
  type: 'page';
  /** The page's name, e.g. `"Pricing"`. */
  name?: string;
  /** The page's category, e.g. `"Docs"`. */
  category?: string;
  /** Details: path, referrer, search, title, url, and any others. */
  properties: {
    path?: string;
    referrer?: string;
    search?: string;
    title?: string;
    url?: string;
    [key: string]: any;
  };
}

/** A screen event: the user saw a screen of a mobile app. */
interface SpecScreen extends SpecCommon {
  type: 'screen';
  /** The screen's name, e.g. `"Home"`. */
  name?: string;
  /** Details of the screen. */
  properties: Record<string, any>;
}

/** A group event: the user belongs to a company, account or team. */
interface SpecGroup extends SpecCommon {
  type: 'group';
  /** Your id of the group. */
  groupId: string;
  /** What is known of the group: name, industry, employees, plan... */
  traits: SpecTraits;
}

/** An alias event: merges two ids of one user (`previousId` becomes `userId`). */
interface SpecAlias extends SpecCommon {
  type: 'alias';
  /** The id the user had before. */
  previousId: string;
  /** The id the user has now. */
  userId: string;
}

/** A delete event: a request to delete the user's data (privacy regulation). */
interface SpecDelete extends SpecCommon {
  type: 'delete';
  /** The user whose data must be deleted. */
  userId: string;
}

/** Any Segment spec event; narrow on `event.type`. */
type SpecEvent =
  | SpecTrack
  | SpecIdentify
  | SpecPage
  | SpecScreen
  | SpecGroup
  | SpecAlias
  | SpecDelete;

/** What `onBatch` may return per event, in order, so that only the failed ones are retried. */
interface SpecBatchStatus {
  /** An HTTP-like status: 200 delivered, 400 rejected, 429/5xx retried. */
  status: number;
  /** Why it failed, when it did. */
  errormessage?: string;
}

// ---------------------------------------------------------------- errors

/** Throw it when an event type is not handled: the event counts as "Unsupported Event Type" and is not retried. */
declare class EventNotSupported extends Error {
  constructor(message?: string);
}
/** Throw it when the event lacks what the handler needs: "Message Rejected", not retried. */
declare class InvalidEventPayload extends Error {
  constructor(message?: string);
}
/** Throw it when the event fails your checks: "Message Rejected", not retried. */
declare class ValidationError extends Error {
  constructor(message?: string);
}
/** Throw it on a temporary failure (5xx, 429, network): the event is retried later, with backoff (9 retries within about 4 hours). */
declare class RetryError extends Error {
  constructor(message?: string);
}
/** Throw it to drop the event on purpose: it is not delivered and not retried. */
declare class DropEvent extends Error {
  constructor(message?: string);
}
/** Throw it when the instance's settings cannot work (a bad API key...): "Invalid Settings", not retried. */
declare class InvalidSettings extends Error {
  constructor(message?: string);
}

// ---------------------------------------------------------------- fetch (node-fetch v2)

/** Header names and values, as an object, a list of pairs or a Headers. */
type HeadersInit = Headers | Record<string, string> | Array<[string, string]>;
/** What a request body may be. A string defaults to text/plain; URLSearchParams to form encoding; FormData to multipart. */
type BodyInit = string | Buffer | ArrayBuffer | ArrayBufferView | URLSearchParams | FormData;

/** Options of `fetch` and `new Request` (node-fetch v2). */
interface RequestInit {
  /** HTTP method, `"GET"` by default. */
  method?: string;
  /** Request headers. Values are sent as Latin-1; a character beyond it is an error. */
  headers?: HeadersInit;
  /** The request body (not for GET or HEAD). */
  body?: BodyInit | null;
  /** `"follow"` (default) redirects, `"manual"` returns the 3xx with an absolute Location, `"error"` rejects. */
  redirect?: 'follow' | 'manual' | 'error';
  /** The most redirects to follow (20 by default). */
  follow?: number;
  /** A time limit in ms for the request, 0 for none (the invocation's own limit still applies). */
  timeout?: number;
  /** Accept gzip/deflate and decode it (true by default). */
  compress?: boolean;
  /** The largest response body accepted, in bytes, 0 for no limit of your own. */
  size?: number;
}

/** Options of `new Response`. */
interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
  url?: string;
}

/** HTTP headers (node-fetch v2): names are case-insensitive; response header names are in lower case. */
declare class Headers implements Iterable<[string, string]> {
  constructor(init?: HeadersInit);
  /** Add a value to a header, keeping the values it has. */
  append(name: string, value: string): void;
  /** Remove a header. */
  delete(name: string): void;
  /** The header's value (several values joined with ", "), or null. */
  get(name: string): string | null;
  /** Whether the header is present. */
  has(name: string): boolean;
  /** Set a header, replacing its values. */
  set(name: string, value: string): void;
  forEach(callback: (value: string, name: string, headers: Headers) => void, thisArg?: any): void;
  /** Every header with all its values (node-fetch only), e.g. `raw()['set-cookie']`. */
  raw(): Record<string, string[]>;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

/** The body of a request or response; it can be read once. */
declare class Body {
  /** Whether the body was read already. */
  readonly bodyUsed: boolean;
  /** The body parsed as JSON. */
  json(): Promise<any>;
  /** The body as text (UTF-8). */
  text(): Promise<string>;
  /** The body as a Buffer (node-fetch only). */
  buffer(): Promise<Buffer>;
  /** The body as an ArrayBuffer. */
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** An HTTP request (node-fetch v2). */
declare class Request extends Body {
  constructor(input: string | URL | Request, init?: RequestInit);
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly redirect: 'follow' | 'manual' | 'error';
  readonly follow: number;
  readonly timeout: number;
  readonly compress: boolean;
  readonly size: number;
  clone(): Request;
}

/** An HTTP response (node-fetch v2). A 4xx or 5xx status resolves too: check `ok` or `status`. */
declare class Response extends Body {
  constructor(body?: BodyInit | null, init?: ResponseInit);
  /** True for a status from 200 to 299. */
  readonly ok: boolean;
  /** The HTTP status, e.g. 200, 404, 503. */
  readonly status: number;
  /** The status text, e.g. `"Not Found"`. */
  readonly statusText: string;
  /** Response headers (names in lower case). */
  readonly headers: Headers;
  /** The final URL, after redirects. */
  readonly url: string;
  /** Whether a redirect was followed. */
  readonly redirected: boolean;
  /** A copy whose body can be read separately. */
  clone(): Response;
}

/**
 * Make an HTTP request (node-fetch v2). Resolves to the Response for any HTTP status;
 * rejects with a FetchError on network failures, refused addresses (private networks,
 * the machine itself) and timeouts. No cookie jar: only a `Cookie` header you set is sent.
 *
 * @example
 * ```js
 * const response = await fetch(settings.url, {
 *   method: 'POST',
 *   headers: { 'Content-Type': 'application/json' },
 *   body: JSON.stringify(event),
 * });
 * if (response.status >= 500 || response.status === 429) throw new RetryError(`Failed with ${response.status}`);
 * ```
 */
declare function fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;

// ---------------------------------------------------------------- cache

/** A cache per function (per worker): values outlive one invocation, but may be evicted at any time. */
declare const cache: {
  /**
   * The value cached under `key`; when missing or older than `ttlMs`, `fn()` is called
   * (once, even for concurrent callers) and its result cached. A rejected `fn` caches nothing.
   *
   * @example
   * ```js
   * const token = await cache.load('token', 55 * 60 * 1000, () => fetchToken(settings));
   * ```
   */
  load<T>(key: string, ttlMs: number, fn: () => T | Promise<T>): Promise<T>;
  /** Forget the value cached under `key` (e.g. a token the API refused). */
  delete(key: string): boolean;
};

// ---------------------------------------------------------------- crypto (Node's subset)

/** Encodings `digest`, `update` and Buffer methods understand. */
type BufferEncoding =
  | 'utf8'
  | 'utf-8'
  | 'hex'
  | 'base64'
  | 'base64url'
  | 'latin1'
  | 'binary'
  | 'ascii'
  | 'utf16le'
  | 'ucs2';
/** Bytes or text a hash, HMAC or key accepts. */
type BinaryLike = string | Buffer | ArrayBufferView;

/** A hash or HMAC in progress: `update(...)` any number of times, then `digest(...)` once. */
interface CryptoHash {
  /** Add data; text is read as `inputEncoding` (UTF-8 by default). */
  update(data: BinaryLike, inputEncoding?: BufferEncoding): CryptoHash;
  /** The digest as a Buffer. */
  digest(): Buffer;
  /** The digest as text, e.g. `'hex'` or `'base64'`. */
  digest(encoding: 'hex' | 'base64' | 'base64url' | 'latin1' | 'binary'): string;
}

/** A signature (createSign) or its check (createVerify) in progress. */
interface CryptoSign {
  update(data: BinaryLike, inputEncoding?: BufferEncoding): CryptoSign;
  /** Sign with a private key (PEM text or KeyObject). */
  sign(
    privateKey:
      | string
      | CryptoKeyObject
      | {
          key: string | CryptoKeyObject;
          padding?: number;
          saltLength?: number;
          dsaEncoding?: 'der' | 'ieee-p1363';
        },
  ): Buffer;
  sign(
    privateKey:
      | string
      | CryptoKeyObject
      | { key: string | CryptoKeyObject; padding?: number; saltLength?: number },
    outputEncoding: 'hex' | 'base64' | 'base64url',
  ): string;
  /** Check `signature` with a public key. */
  verify(
    publicKey:
      | string
      | CryptoKeyObject
      | { key: string | CryptoKeyObject; padding?: number; saltLength?: number },
    signature: BinaryLike,
    signatureEncoding?: 'hex' | 'base64' | 'base64url',
  ): boolean;
}

/** A key made by `createSecretKey`, `createPrivateKey` or `createPublicKey`. */
interface CryptoKeyObject {
  readonly type: 'secret' | 'private' | 'public';
  readonly asymmetricKeyType?: string;
  readonly symmetricKeySize?: number;
  export(options?: any): string | Buffer;
}

/** Node's `crypto`, the parts this runtime provides. */
declare const crypto: {
  /** A hash: `crypto.createHash('sha256').update(text).digest('hex')`. md5, sha1, sha224, sha256, sha384, sha512. */
  createHash(algorithm: string): CryptoHash;
  /**
   * An HMAC, e.g. for signed webhooks:
   * `crypto.createHmac('sha256', settings.secret).update(body).digest('hex')`.
   */
  createHmac(algorithm: string, key: BinaryLike | CryptoKeyObject): CryptoHash;
  /** A random version 4 UUID. */
  randomUUID(): string;
  /** `size` random bytes. */
  randomBytes(size: number): Buffer;
  randomBytes(size: number, callback: (err: Error | null, buf: Buffer) => void): void;
  /** Fill a typed array with random values. */
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  /** Compare two equal-length byte sequences in constant time (for signatures). */
  timingSafeEqual(a: ArrayBufferView, b: ArrayBufferView): boolean;
  /** The hash algorithms available. */
  getHashes(): string[];
  /** Sign data, e.g. `crypto.createSign('RSA-SHA256').update(data).sign(privateKeyPem, 'base64')`. */
  createSign(algorithm: string): CryptoSign;
  /** Check a signature. */
  createVerify(algorithm: string): CryptoSign;
  createSecretKey(key: BinaryLike, encoding?: BufferEncoding): CryptoKeyObject;
  createPrivateKey(
    key:
      | string
      | Buffer
      | { key: string | Buffer; format?: 'pem' | 'der'; type?: string; passphrase?: string },
  ): CryptoKeyObject;
  createPublicKey(
    key:
      | string
      | Buffer
      | CryptoKeyObject
      | { key: string | Buffer; format?: 'pem' | 'der'; type?: string },
  ): CryptoKeyObject;
  readonly constants: {
    RSA_PKCS1_PADDING: number;
    RSA_PKCS1_PSS_PADDING: number;
    RSA_PSS_SALTLEN_DIGEST: number;
    [name: string]: number;
  };
};

// ---------------------------------------------------------------- Buffer

/** Node's Buffer: bytes with encodings (`Buffer.from(text).toString('base64')`). */
interface Buffer extends Uint8Array<ArrayBuffer> {
  /** The bytes as text: `'utf8'` (default), `'hex'`, `'base64'`, `'latin1'`... */
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
  toJSON(): { type: 'Buffer'; data: number[] };
  equals(other: Uint8Array): boolean;
  compare(other: Uint8Array): number;
  /** A view of part of the bytes (shares memory). */
  slice(start?: number, end?: number): Buffer;
  subarray(start?: number, end?: number): Buffer;
  write(text: string, offset?: number, length?: number, encoding?: BufferEncoding): number;
  copy(target: Uint8Array, targetStart?: number, sourceStart?: number, sourceEnd?: number): number;
  includes(
    value: string | number | Uint8Array,
    byteOffset?: number,
    encoding?: BufferEncoding,
  ): boolean;
  indexOf(
    value: string | number | Uint8Array,
    byteOffset?: number,
    encoding?: BufferEncoding,
  ): number;
  readUInt8(offset?: number): number;
  readUInt16BE(offset?: number): number;
  readUInt16LE(offset?: number): number;
  readUInt32BE(offset?: number): number;
  readUInt32LE(offset?: number): number;
  readInt32BE(offset?: number): number;
  readInt32LE(offset?: number): number;
  writeUInt8(value: number, offset?: number): number;
  writeUInt32BE(value: number, offset?: number): number;
  writeUInt32LE(value: number, offset?: number): number;
}
/** Node's Buffer class: `Buffer.from(...)`, `Buffer.alloc(...)`, `Buffer.concat(...)`. */
interface BufferConstructor {
  /** Bytes of `text` in `encoding` (UTF-8 by default). */
  from(text: string, encoding?: BufferEncoding): Buffer;
  /** A copy of bytes (or a view of an ArrayBuffer). */
  from(data: ArrayLike<number> | Iterable<number> | ArrayBuffer | ArrayBufferView): Buffer;
  /** `size` bytes, filled with zeros (or `fill`). */
  alloc(size: number, fill?: string | number, encoding?: BufferEncoding): Buffer;
  /** The length in bytes of `text` in `encoding`. */
  byteLength(text: string | ArrayBufferView | ArrayBuffer, encoding?: BufferEncoding): number;
  /** One Buffer from several. */
  concat(list: ReadonlyArray<Uint8Array>, totalLength?: number): Buffer;
  isBuffer(value: any): value is Buffer;
  isEncoding(encoding: string): encoding is BufferEncoding;
  compare(a: Uint8Array, b: Uint8Array): number;
  readonly prototype: Buffer;
}
/** Node's Buffer: bytes with encodings (`Buffer.from(text).toString('base64')`). */
declare const Buffer: BufferConstructor;

// ---------------------------------------------------------------- console, encodings, URLs

/** Log lines of the invocation: shown in the Test panel's Logs (bounded in size). */
declare const console: {
  /** Log at level "log". */
  log(...data: any[]): void;
  /** Log at level "info". */
  info(...data: any[]): void;
  /** Log at level "warn". */
  warn(...data: any[]): void;
  /** Log at level "error". */
  error(...data: any[]): void;
  /** Log at level "debug". */
  debug(...data: any[]): void;
};

/** Base64 of a string of Latin-1 characters, e.g. Basic auth: `'Basic ' + btoa(user + ':' + password)`. */
declare function btoa(data: string): string;
/** The Latin-1 string a Base64 text encodes. */
declare function atob(data: string): string;

/** UTF-8 encoding of text into bytes. */
declare class TextEncoder {
  readonly encoding: 'utf-8';
  encode(input?: string): Uint8Array;
}
/** Decoding bytes into text (UTF-8 by default). */
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  readonly encoding: string;
  decode(input?: ArrayBuffer | ArrayBufferView, options?: { stream?: boolean }): string;
}

/** A parsed URL (WHATWG): `new URL('/v1/events', settings.baseUrl)`. */
declare class URL {
  constructor(url: string | URL, base?: string | URL);
  hash: string;
  host: string;
  hostname: string;
  href: string;
  readonly origin: string;
  password: string;
  pathname: string;
  port: string;
  protocol: string;
  search: string;
  /** The query, to read or change: `url.searchParams.set('key', value)`. */
  readonly searchParams: URLSearchParams;
  username: string;
  toString(): string;
  toJSON(): string;
  static canParse(url: string, base?: string): boolean;
}

/** Query string parameters: `new URLSearchParams({ a: '1' }).toString()` is `"a=1"`; as a fetch body it is form-encoded. */
declare class URLSearchParams implements Iterable<[string, string]> {
  constructor(init?: string | Record<string, string> | Array<[string, string]> | URLSearchParams);
  readonly size: number;
  append(name: string, value: string): void;
  delete(name: string): void;
  get(name: string): string | null;
  getAll(name: string): string[];
  has(name: string): boolean;
  set(name: string, value: string): void;
  sort(): void;
  forEach(callback: (value: string, name: string, params: URLSearchParams) => void): void;
  entries(): IterableIterator<[string, string]>;
  keys(): IterableIterator<string>;
  values(): IterableIterator<string>;
  toString(): string;
  [Symbol.iterator](): IterableIterator<[string, string]>;
}

// ---------------------------------------------------------------- timers

/** A timer handle (Node-like); it converts to a number, and `clear*` take either. */
interface Timeout {
  ref(): Timeout;
  unref(): Timeout;
  hasRef(): boolean;
  refresh(): Timeout;
  [Symbol.toPrimitive](): number;
}
/** Call `callback` after `ms` milliseconds. Timers are cancelled when the invocation ends. */
declare function setTimeout<A extends any[]>(
  callback: (...args: A) => void,
  ms?: number,
  ...args: A
): Timeout;
/** Call `callback` every `ms` milliseconds, until cleared or the invocation ends. */
declare function setInterval<A extends any[]>(
  callback: (...args: A) => void,
  ms?: number,
  ...args: A
): Timeout;
/** Call `callback` as soon as possible, after the current work. */
declare function setImmediate<A extends any[]>(callback: (...args: A) => void, ...args: A): Timeout;
declare function clearTimeout(handle?: Timeout | number): void;
declare function clearInterval(handle?: Timeout | number): void;
declare function clearImmediate(handle?: Timeout | number): void;
/** Queue `callback` as a microtask. */
declare function queueMicrotask(callback: () => void): void;

// ---------------------------------------------------------------- libraries

/** lodash: the commonly used part, typed loosely (every other lodash function exists too). */
interface LoDashSubset {
  /** The value at `path` of `object` (`_.get(event, 'context.page.url')`), or `defaultValue`. */
  get(object: any, path: string | Array<string | number>, defaultValue?: any): any;
  /** Set the value at `path`, creating objects on the way; returns `object`. */
  set<T extends object>(object: T, path: string | Array<string | number>, value: any): T;
  /** Whether `path` is a direct property path of `object`. */
  has(object: any, path: string | Array<string | number>): boolean;
  /** A copy with only the given keys. */
  pick<T extends object>(object: T, ...paths: Array<string | string[]>): Partial<T>;
  /** A copy without the given keys. */
  omit<T extends object>(object: T, ...paths: Array<string | string[]>): Partial<T>;
  pickBy<T extends object>(object: T, predicate?: (value: any, key: string) => any): Partial<T>;
  omitBy<T extends object>(object: T, predicate?: (value: any, key: string) => any): Partial<T>;
  mapKeys(object: any, iteratee: (value: any, key: string) => string): Record<string, any>;
  mapValues(
    object: any,
    iteratee: ((value: any, key: string) => any) | string,
  ): Record<string, any>;
  /** Group a list by a key: `_.groupBy(events, 'type')`. */
  groupBy<T>(list: T[], iteratee: ((item: T) => any) | string): Record<string, T[]>;
  keyBy<T>(list: T[], iteratee: ((item: T) => any) | string): Record<string, T>;
  countBy<T>(list: T[], iteratee?: ((item: T) => any) | string): Record<string, number>;
  partition<T>(list: T[], predicate: ((item: T) => any) | string | object): [T[], T[]];
  /** Split a list into chunks of `size`: `_.chunk(events, 100)`. */
  chunk<T>(list: T[], size?: number): T[][];
  uniq<T>(list: T[]): T[];
  uniqBy<T>(list: T[], iteratee: ((item: T) => any) | string): T[];
  flatten<T>(list: Array<T | T[]>): T[];
  flattenDeep(list: any[]): any[];
  compact<T>(list: Array<T | null | undefined | false | '' | 0>): T[];
  difference<T>(list: T[], ...others: T[][]): T[];
  intersection<T>(...lists: T[][]): T[];
  sortBy<T>(list: T[], ...iteratees: Array<((item: T) => any) | string>): T[];
  orderBy<T>(
    list: T[],
    iteratees: Array<((item: T) => any) | string> | string,
    orders?: Array<'asc' | 'desc'> | 'asc' | 'desc',
  ): T[];
  sum(list: number[]): number;
  sumBy<T>(list: T[], iteratee: ((item: T) => number) | string): number;
  range(start: number, end?: number, step?: number): number[];
  times<T>(n: number, iteratee: (index: number) => T): T[];
  first<T>(list: T[]): T | undefined;
  head<T>(list: T[]): T | undefined;
  last<T>(list: T[]): T | undefined;
  /** Deep copy. */
  cloneDeep<T>(value: T): T;
  /** Deep merge of `sources` into `object` (mutates it). */
  merge(object: any, ...sources: any[]): any;
  defaults(object: any, ...sources: any[]): any;
  /** Deep equality. */
  isEqual(a: any, b: any): boolean;
  /** True for null, undefined, '', [] and {}. */
  isEmpty(value: any): boolean;
  isNil(value: any): value is null | undefined;
  isString(value: any): value is string;
  isNumber(value: any): value is number;
  isPlainObject(value: any): boolean;
  isArray(value: any): value is any[];
  isObject(value: any): boolean;
  toPairs(object: any): Array<[string, any]>;
  fromPairs(pairs: Array<[string, any]>): Record<string, any>;
  zipObject(keys: string[], values?: any[]): Record<string, any>;
  camelCase(text?: string): string;
  snakeCase(text?: string): string;
  kebabCase(text?: string): string;
  startCase(text?: string): string;
  upperFirst(text?: string): string;
  capitalize(text?: string): string;
  trim(text?: string, chars?: string): string;
  escape(text?: string): string;
  [name: string]: any;
}
/** lodash 4, preloaded as `_`. */
declare const _: LoDashSubset;

/** A moment (moment-timezone): a date and time with formatting and arithmetic. */
interface Moment {
  /** Format, e.g. `'YYYY-MM-DD HH:mm'`; ISO 8601 without a format. */
  format(format?: string): string;
  add(amount: number | string, unit?: string): Moment;
  subtract(amount: number | string, unit?: string): Moment;
  startOf(unit: string): Moment;
  endOf(unit: string): Moment;
  /** This moment in a time zone: `moment(event.timestamp).tz('Europe/Berlin')`. */
  tz(zone: string): Moment;
  utc(): Moment;
  local(): Moment;
  clone(): Moment;
  isValid(): boolean;
  isBefore(other?: any, unit?: string): boolean;
  isAfter(other?: any, unit?: string): boolean;
  isSame(other?: any, unit?: string): boolean;
  diff(other: any, unit?: string, precise?: boolean): number;
  fromNow(withoutSuffix?: boolean): string;
  toISOString(): string;
  toDate(): Date;
  toJSON(): string;
  /** Milliseconds since the epoch. */
  valueOf(): number;
  /** Seconds since the epoch. */
  unix(): number;
  year(): number;
  month(): number;
  date(): number;
  day(): number;
  hour(): number;
  minute(): number;
  second(): number;
  millisecond(): number;
  [name: string]: any;
}
/** moment-timezone: `moment(event.timestamp).utc().format()`, `moment.tz(text, 'America/New_York')`. */
declare function moment(
  input?: string | number | Date | Moment | null,
  format?: string | string[],
  strict?: boolean,
): Moment;
declare namespace moment {
  function utc(input?: string | number | Date | Moment, format?: string | string[]): Moment;
  function unix(seconds: number): Moment;
  function isMoment(value: any): value is Moment;
  function duration(amount: number | string, unit?: string): any;
  /** A moment in a time zone. */
  function tz(input: string | number | Date | Moment, zone: string): Moment;
  function tz(input: string, format: string, zone: string): Moment;
  namespace tz {
    function guess(): string;
    function names(): string[];
    function zone(name: string): any;
  }
  const ISO_8601: any;
}

/** A version 5 UUID (name-based, SHA-1) of `name` in `namespace` (a UUID); same input, same id. */
declare function uuidv5(
  name: string | ArrayLike<number>,
  namespace: string | ArrayLike<number>,
): string;
declare namespace uuidv5 {
  /** The DNS namespace UUID. */
  const DNS: string;
  /** The URL namespace UUID. */
  const URL: string;
  /** The same function, as Segment's documentation calls it: `uuidv5.uuidv5(name, namespace)`. */
  const uuidv5: (name: string | ArrayLike<number>, namespace: string | ArrayLike<number>) => string;
}

/** The `xml` library: an object to XML text, e.g. `xml({ event: [{ name: event.event }] }, { declaration: true })`. */
declare function xml(
  object: any,
  options?:
    | boolean
    | string
    | { indent?: string; declaration?: boolean | { standalone?: string; encoding?: string } },
): string;

/** xml2js: parse XML into objects, build XML from them. */
declare const xml2js: {
  /** Parse XML text: `const result = await xml2js.parseStringPromise(text)`. */
  parseStringPromise(xml: string, options?: Record<string, any>): Promise<any>;
  parseString(xml: string, callback: (err: Error | null, result: any) => void): void;
  parseString(
    xml: string,
    options: Record<string, any>,
    callback: (err: Error | null, result: any) => void,
  ): void;
  /** A builder: `new xml2js.Builder().buildObject(object)`. */
  Builder: new (
    options?: Record<string, any>,
  ) => { buildObject(root: any): string };
  Parser: new (
    options?: Record<string, any>,
  ) => {
    parseString(xml: string, callback: (err: Error | null, result: any) => void): void;
    parseStringPromise(xml: string): Promise<any>;
  };
};

/** Options of `jsonwebtoken.sign`. */
interface JwtSignOptions {
  /** `'HS256'` (default), `'RS256'`, `'ES256'`... */
  algorithm?: string;
  /** Lifetime: seconds or a text like `'1h'`. */
  expiresIn?: string | number;
  notBefore?: string | number;
  audience?: string | string[];
  issuer?: string;
  subject?: string;
  jwtid?: string;
  keyid?: string;
  header?: Record<string, any>;
  noTimestamp?: boolean;
}
/** Options of `jsonwebtoken.verify`. */
interface JwtVerifyOptions {
  algorithms?: string[];
  audience?: string | RegExp | Array<string | RegExp>;
  issuer?: string | string[];
  subject?: string;
  clockTolerance?: number;
  ignoreExpiration?: boolean;
  maxAge?: string | number;
  complete?: boolean;
}
/** The jsonwebtoken library (preloaded as `jsonwebtoken` and `jwt`). */
interface JsonWebToken {
  /** A signed token: `jwt.sign({ sub: event.userId }, settings.secret, { expiresIn: '5m' })`. */
  sign(
    payload: string | object | Buffer,
    secretOrPrivateKey: string | Buffer | CryptoKeyObject,
    options?: JwtSignOptions,
  ): string;
  sign(
    payload: string | object | Buffer,
    secretOrPrivateKey: string | Buffer | CryptoKeyObject,
    options: JwtSignOptions,
    callback: (err: Error | null, token?: string) => void,
  ): void;
  /** The payload of a valid token; throws when it is invalid or expired. */
  verify(
    token: string,
    secretOrPublicKey: string | Buffer | CryptoKeyObject,
    options?: JwtVerifyOptions,
  ): any;
  verify(
    token: string,
    secretOrPublicKey: string | Buffer | CryptoKeyObject,
    options: JwtVerifyOptions,
    callback: (err: Error | null, payload?: any) => void,
  ): void;
  /** The payload without checking the signature. */
  decode(token: string, options?: { complete?: boolean; json?: boolean }): any;
  JsonWebTokenError: new (message: string) => Error;
  TokenExpiredError: new (message: string, expiredAt: Date) => Error & { expiredAt: Date };
  NotBeforeError: new (message: string, date: Date) => Error & { date: Date };
}
/** jsonwebtoken: sign and verify JSON Web Tokens. */
declare const jsonwebtoken: JsonWebToken;
/** jsonwebtoken, by its short name. */
declare const jwt: JsonWebToken;

/** form-data's FormData: a multipart body. Pass it as `fetch`'s body, or use `getBuffer()` and `getHeaders()`. */
declare class FormData {
  /** Add a field; `options` may name a file (`{ filename, contentType }`). */
  append(
    name: string,
    value: any,
    options?: string | { filename?: string; contentType?: string; knownLength?: number },
  ): void;
  /** The Content-Type header with the boundary, merged with `userHeaders`. */
  getHeaders(userHeaders?: Record<string, string>): Record<string, string>;
  /** The whole body. */
  getBuffer(): Buffer;
  getBoundary(): string;
  setBoundary(boundary: string): void;
  getLengthSync(): number;
}

/** An OAuth 1.0a client (the `oauth` module); its requests go through `fetch`. */
interface OAuthClient {
  get(
    url: string,
    token: string,
    tokenSecret: string,
    callback: (err: any, data?: string, response?: any) => void,
  ): void;
  post(
    url: string,
    token: string,
    tokenSecret: string,
    body: any,
    contentType: string,
    callback: (err: any, data?: string, response?: any) => void,
  ): void;
  [name: string]: any;
}
/** An OAuth 2 client (the `oauth` module). */
interface OAuth2Client {
  getOAuthAccessToken(
    code: string,
    params: Record<string, any>,
    callback: (err: any, accessToken?: string, refreshToken?: string, results?: any) => void,
  ): void;
  get(
    url: string,
    accessToken: string,
    callback: (err: any, data?: string, response?: any) => void,
  ): void;
  [name: string]: any;
}
/** The `oauth` module: `new OAuth.OAuth(...)` (1.0a) and `new OAuth.OAuth2(...)`. */
declare const OAuth: {
  OAuth: new (
    requestUrl: string,
    accessUrl: string,
    consumerKey: string,
    consumerSecret: string,
    version: string,
    authorizeCallback: string | null,
    signatureMethod: string,
    nonceSize?: number,
    customHeaders?: Record<string, string>,
  ) => OAuthClient;
  OAuth2: new (
    clientId: string,
    clientSecret: string,
    baseSite: string,
    authorizePath?: string,
    accessTokenPath?: string,
    customHeaders?: Record<string, string>,
  ) => OAuth2Client;
};

// ---------------------------------------------------------------- zlib, https, winston

/** Input of the zlib functions: text is encoded as UTF-8. */
type ZlibInput = string | ArrayBuffer | ArrayBufferView;
/** Node's zlib options (pako underneath); output is capped at 8 MB, input too. */
interface ZlibOptions {
  level?: number;
  windowBits?: number;
  memLevel?: number;
  strategy?: number;
  dictionary?: ZlibInput;
  /** Fail with ERR_BUFFER_TOO_LARGE past this many output bytes. */
  maxOutputLength?: number;
}
type ZlibCallback = (
  error: (Error & { code?: string; errno?: number }) | null,
  result: Buffer,
) => void;
/** Node's zlib API, run in the function's own realm (pure JS). Streams and brotli are not available. */
interface Zlib {
  deflateSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  inflateSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  deflateRawSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  inflateRawSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  gzipSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  gunzipSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  /** Inflates zlib or gzip data, whichever the header says. */
  unzipSync(input: ZlibInput, options?: ZlibOptions): Buffer;
  deflate(input: ZlibInput, callback: ZlibCallback): void;
  deflate(input: ZlibInput, options: ZlibOptions, callback: ZlibCallback): void;
  inflate(input: ZlibInput, callback: ZlibCallback): void;
  inflate(input: ZlibInput, options: ZlibOptions, callback: ZlibCallback): void;
  deflateRaw(input: ZlibInput, callback: ZlibCallback): void;
  inflateRaw(input: ZlibInput, callback: ZlibCallback): void;
  gzip(input: ZlibInput, callback: ZlibCallback): void;
  gzip(input: ZlibInput, options: ZlibOptions, callback: ZlibCallback): void;
  gunzip(input: ZlibInput, callback: ZlibCallback): void;
  gunzip(input: ZlibInput, options: ZlibOptions, callback: ZlibCallback): void;
  unzip(input: ZlibInput, callback: ZlibCallback): void;
  constants: Record<string, number>;
  /** The runtime's cap on input and output sizes, in bytes. */
  MAX_BYTES: number;
}
/** Node's zlib: `zlib.zlib.gzipSync(...)` as in Segment's documentation (`zlib.gzipSync` works too). */
declare const zlib: Zlib & { zlib: Zlib };

/** What `https.request` takes (Node's RequestOptions). `protocol: 'http:'` is accepted too. */
interface HttpsRequestOptions {
  protocol?: string;
  hostname?: string;
  host?: string;
  port?: number | string;
  path?: string;
  method?: string;
  headers?: Record<string, string | number | string[]>;
  /** `user:password`, sent as Basic authorization. */
  auth?: string;
  /** Emit `timeout` after this many milliseconds without an answer. */
  timeout?: number;
  agent?: any;
}
/** A response (Node's IncomingMessage): `data`/`end` events, `setEncoding`, `for await`. */
interface HttpsIncomingMessage extends AsyncIterable<Buffer | string> {
  statusCode: number;
  statusMessage: string;
  /** Header names in lower case; `set-cookie` is an array. */
  headers: Record<string, string | string[]>;
  rawHeaders: string[];
  setEncoding(encoding: string): this;
  on(event: 'data', listener: (chunk: Buffer | string) => void): this;
  on(event: 'end' | 'close', listener: () => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
  pipe<T extends { write(chunk: any): any }>(destination: T): T;
  resume(): this;
}
/** A request (Node's ClientRequest): write the body, then `end()`. */
interface HttpsClientRequest {
  write(chunk: string | Uint8Array, encoding?: string, callback?: () => void): boolean;
  end(chunk?: string | Uint8Array, encoding?: string, callback?: () => void): this;
  setHeader(name: string, value: string | number | string[]): this;
  getHeader(name: string): any;
  removeHeader(name: string): void;
  setTimeout(ms: number, callback?: () => void): this;
  destroy(error?: Error): this;
  abort(): void;
  on(event: 'response', listener: (res: HttpsIncomingMessage) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
  once(event: string, listener: (...args: any[]) => void): this;
}
/** Node's https client, carried out by the runtime's fetch (egress policy, limits and traces alike). Redirects are not followed. */
declare const https: {
  request(
    url: string | URL,
    options?: HttpsRequestOptions,
    callback?: (res: HttpsIncomingMessage) => void,
  ): HttpsClientRequest;
  request(
    options: HttpsRequestOptions,
    callback?: (res: HttpsIncomingMessage) => void,
  ): HttpsClientRequest;
  get(
    url: string | URL,
    options?: HttpsRequestOptions,
    callback?: (res: HttpsIncomingMessage) => void,
  ): HttpsClientRequest;
  get(
    options: HttpsRequestOptions,
    callback?: (res: HttpsIncomingMessage) => void,
  ): HttpsClientRequest;
  Agent: new (options?: Record<string, any>) => any;
  globalAgent: any;
  STATUS_CODES: Record<number, string>;
};

/** A winston logger: `logger.info(message, meta)`, one method per level. */
interface WinstonLogger {
  log(level: string, message: string, ...meta: any[]): this;
  error(message: string, ...meta: any[]): this;
  warn(message: string, ...meta: any[]): this;
  info(message: string, ...meta: any[]): this;
  http(message: string, ...meta: any[]): this;
  verbose(message: string, ...meta: any[]): this;
  debug(message: string, ...meta: any[]): this;
  silly(message: string, ...meta: any[]): this;
  child(meta: Record<string, any>): WinstonLogger;
  level: string;
  add(transport: any): this;
  remove(transport: any): this;
}
/** A winston format (`winston.format.json()`...). */
interface WinstonFormat {
  transform(info: Record<string | symbol, any>, options?: any): any;
}
/** The winston module. Its Console transport writes to the function's console, at the level's severity. */
interface Winston {
  createLogger(options?: {
    level?: string;
    levels?: Record<string, number>;
    format?: WinstonFormat;
    defaultMeta?: Record<string, any>;
    transports?: any[];
    silent?: boolean;
  }): WinstonLogger;
  format: {
    (transform: (info: any, options?: any) => any): (options?: any) => WinstonFormat;
    combine(...formats: WinstonFormat[]): WinstonFormat;
    json(options?: any): WinstonFormat;
    simple(): WinstonFormat;
    printf(template: (info: any) => string): WinstonFormat;
    timestamp(options?: { format?: string }): WinstonFormat;
    label(options?: { label?: string }): WinstonFormat;
    splat(): WinstonFormat;
    errors(options?: { stack?: boolean }): WinstonFormat;
    metadata(options?: any): WinstonFormat;
    prettyPrint(options?: any): WinstonFormat;
    [name: string]: any;
  };
  transports: {
    Console: new (options?: { level?: string; format?: WinstonFormat }) => any;
    [name: string]: any;
  };
  config: { npm: { levels: Record<string, number> }; syslog: { levels: Record<string, number> } };
  log: WinstonLogger['log'];
  info: WinstonLogger['info'];
  warn: WinstonLogger['warn'];
  error: WinstonLogger['error'];
}
/** winston, as Segment exposes it: `winstonlib.winston.createLogger(...)`. */
declare const winstonlib: { winston: Winston };

// ---------------------------------------------------------------- vendor SDKs

/** A Stripe API resource (customers, charges, paymentIntents, subscriptions...). */
interface StripeResource {
  create(params?: Record<string, any>, options?: Record<string, any>): Promise<any>;
  retrieve(id: string, params?: Record<string, any>, options?: Record<string, any>): Promise<any>;
  update(id: string, params?: Record<string, any>, options?: Record<string, any>): Promise<any>;
  del(id: string, params?: Record<string, any>, options?: Record<string, any>): Promise<any>;
  list(
    params?: Record<string, any>,
    options?: Record<string, any>,
  ): Promise<{ data: any[]; has_more: boolean }>;
  search(params: { query: string; [key: string]: any }): Promise<{ data: any[] }>;
  [method: string]: any;
}
/** A Stripe client, from `stripe(apiKey)`. */
interface StripeClient {
  customers: StripeResource;
  charges: StripeResource;
  paymentIntents: StripeResource;
  subscriptions: StripeResource;
  invoices: StripeResource;
  products: StripeResource;
  prices: StripeResource;
  refunds: StripeResource;
  events: StripeResource;
  [resource: string]: any;
}
/** Options of `stripe(apiKey, config)`. */
interface StripeConfig {
  apiVersion?: string;
  maxNetworkRetries?: number;
  timeout?: number;
  host?: string;
  port?: number | string;
  protocol?: 'https' | 'http';
  stripeAccount?: string;
  [option: string]: any;
}
/** The stripe package: `const client = stripe(settings.apiKey); await client.customers.create({...})`. Requests go through `fetch`. */
declare const stripe: {
  (apiKey: string, config?: StripeConfig): StripeClient;
  new (apiKey: string, config?: StripeConfig): StripeClient;
  errors: Record<
    string,
    new (
      ...args: any[]
    ) => Error & { type: string; statusCode?: number; code?: string }
  >;
};

/** A SendGrid API response: `[response, body]` is what `request` and `send` resolve to. */
interface SendGridResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: any;
}
/** A SendGrid API client (@sendgrid/client). */
interface SendGridClient {
  setApiKey(apiKey: string): void;
  setDefaultHeader(name: string, value: string): this;
  setDefaultRequest(name: string, value: any): this;
  setDataResidency(region: 'eu' | 'global'): this;
  request(request: {
    method?: string;
    url: string;
    body?: any;
    qs?: Record<string, any>;
    headers?: Record<string, string>;
  }): Promise<[SendGridResponse, any]>;
}
/** A mail for `sendgrid.mail.send` (@sendgrid/mail's MailDataRequired, in short). */
interface SendGridMail {
  to?: string | { email: string; name?: string } | Array<string | { email: string; name?: string }>;
  from: string | { email: string; name?: string };
  subject?: string;
  text?: string;
  html?: string;
  templateId?: string;
  dynamicTemplateData?: Record<string, any>;
  personalizations?: any[];
  [field: string]: any;
}
/** SendGrid, as Segment exposes it: `sendgrid.mail.setApiKey(key); await sendgrid.mail.send({...})`. */
declare const sendgrid: {
  client: SendGridClient;
  mail: {
    setApiKey(apiKey: string): void;
    send(
      data: SendGridMail | SendGridMail[],
      isMultiple?: boolean,
    ): Promise<[SendGridResponse, any]>;
    sendMultiple(data: SendGridMail): Promise<[SendGridResponse, any]>;
    setClient(client: SendGridClient): void;
    client: SendGridClient;
  };
};

/** A Twilio list resource (`client.messages`, `client.calls`...). */
interface TwilioListResource {
  create(params: Record<string, any>): Promise<any>;
  list(params?: Record<string, any>): Promise<any[]>;
  each(params: Record<string, any>, callback: (item: any) => void): void;
  (
    sid: string,
  ): {
    fetch(): Promise<any>;
    update(params: Record<string, any>): Promise<any>;
    remove(): Promise<boolean>;
  };
}
/** A Twilio REST client, from `twilio(accountSid, authToken)`. */
interface TwilioClient {
  messages: TwilioListResource;
  calls: TwilioListResource;
  [resource: string]: any;
}
/** Twilio: `const client = twilio(settings.accountSid, settings.authToken); await client.messages.create({ body, from, to })`. */
declare const twilio: {
  (accountSid: string, authToken: string, options?: Record<string, any>): TwilioClient;
  RestException: new (
    ...args: any[]
  ) => Error & { status: number; code: number; moreInfo?: string };
  [name: string]: any;
};

/** A Mailjet request being built: `.id(...)`, `.action(...)`, then `.request(body)`. */
interface MailjetRequest {
  id(value: string | number): MailjetRequest;
  action(name: string): MailjetRequest;
  request(
    data?: Record<string, any>,
    params?: Record<string, any>,
  ): Promise<{ body: any; response: { status: number; [k: string]: any } }>;
}
/** A Mailjet client. */
interface MailjetClient {
  get(resource: string, config?: { version?: string }): MailjetRequest;
  post(resource: string, config?: { version?: string }): MailjetRequest;
  put(resource: string, config?: { version?: string }): MailjetRequest;
  delete(resource: string, config?: { version?: string }): MailjetRequest;
}
/** node-mailjet, as Segment exposes it: `nodemailjet.nodemailjet.apiConnect(key, secret).post('send', { version: 'v3.1' }).request({...})`. */
declare const nodemailjet: {
  nodemailjet: {
    apiConnect(
      apiKey: string,
      apiSecret: string,
      options?: {
        config?: { host?: string; version?: string };
        options?: { timeout?: number; headers?: Record<string, string> };
      },
    ): MailjetClient;
    /** node-mailjet 3's call, kept. */
    connect(
      apiKey: string,
      apiSecret: string,
      options?: { url?: string; version?: string; timeout?: number },
    ): MailjetClient;
    smsConnect(apiToken: string, options?: Record<string, any>): MailjetClient;
    Request: { protocol: string };
    [name: string]: any;
  };
};

/** A HubSpot client (@hubspot/api-client): `client.crm.contacts.basicApi.create({ properties })`. */
interface HubSpotClient {
  crm: {
    contacts: { basicApi: any; batchApi: any; searchApi: any; [api: string]: any };
    companies: { basicApi: any; batchApi: any; searchApi: any; [api: string]: any };
    deals: { basicApi: any; batchApi: any; searchApi: any; [api: string]: any };
    [object: string]: any;
  };
  apiRequest(options: {
    method?: string;
    path: string;
    body?: any;
    qs?: Record<string, any>;
  }): Promise<any>;
  setAccessToken(token: string): void;
  [api: string]: any;
}
/** @hubspot/api-client, as Segment exposes it: `new hubspotlib.hubspot.Client({ accessToken: settings.token })`. */
declare const hubspotlib: {
  hubspot: {
    Client: new (options?: {
      accessToken?: string;
      apiKey?: string;
      basePath?: string;
      numberOfApiCallRetries?: number;
      defaultHeaders?: Record<string, string>;
      [option: string]: any;
    }) => HubSpotClient;
    [name: string]: any;
  };
};

/** A Salesforce object's API (`conn.sobject('Lead')`). */
interface JsforceSObject {
  create(record: Record<string, any> | Record<string, any>[]): Promise<any>;
  retrieve(id: string | string[]): Promise<any>;
  update(record: Record<string, any> | Record<string, any>[]): Promise<any>;
  upsert(record: Record<string, any> | Record<string, any>[], extIdField: string): Promise<any>;
  destroy(id: string | string[]): Promise<any>;
  find(conditions?: Record<string, any>, fields?: string | string[]): any;
  [method: string]: any;
}
/** A Salesforce connection (jsforce). */
interface JsforceConnection {
  query(soql: string): Promise<{ totalSize: number; done: boolean; records: any[] }>;
  sobject(type: string): JsforceSObject;
  request(request: string | Record<string, any>): Promise<any>;
  login(username: string, password: string): Promise<any>;
  [method: string]: any;
}
/** jsforce: `const conn = new jsforce.Connection({ instanceUrl, accessToken }); await conn.query('SELECT ...')`. */
declare const jsforce: {
  Connection: new (options?: {
    instanceUrl?: string;
    accessToken?: string;
    loginUrl?: string;
    version?: string;
    [option: string]: any;
  }) => JsforceConnection;
  OAuth2: new (options: Record<string, any>) => any;
  [name: string]: any;
};

/** An aws-sdk v2 request: call `.promise()` to await it. */
interface AWSRequest<T = any> {
  promise(): Promise<T>;
  send(
    callback?: (err: (Error & { code: string; statusCode?: number }) | null, data: T) => void,
  ): void;
}
/** Options of an aws-sdk v2 service client. */
interface AWSServiceOptions {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  region?: string;
  endpoint?: string;
  maxRetries?: number;
  apiVersion?: string;
  s3ForcePathStyle?: boolean;
  httpOptions?: { timeout?: number };
  [option: string]: any;
}
/** An aws-sdk v2 client: each API operation takes its params and returns an `AWSRequest`. */
type AWSService = { [operation: string]: (params?: Record<string, any>) => AWSRequest };
/** aws-sdk v2 (S3, Lambda, Kinesis, Firehose, SQS, SNS, DynamoDB, STS): `await new AWS.S3({...}).putObject({...}).promise()`. */
declare const AWS: {
  S3: new (options?: AWSServiceOptions) => AWSService;
  Lambda: new (options?: AWSServiceOptions) => AWSService;
  Kinesis: new (options?: AWSServiceOptions) => AWSService;
  Firehose: new (options?: AWSServiceOptions) => AWSService;
  SQS: new (options?: AWSServiceOptions) => AWSService;
  SNS: new (options?: AWSServiceOptions) => AWSService;
  STS: new (options?: AWSServiceOptions) => AWSService;
  DynamoDB: (new (
    options?: AWSServiceOptions,
  ) => AWSService) & {
    DocumentClient: new (options?: AWSServiceOptions & { service?: any }) => AWSService;
  };
  config: { update(options: AWSServiceOptions): void; [key: string]: any };
  Credentials: new (accessKeyId: string, secretAccessKey: string, sessionToken?: string) => any;
  VERSION: string;
};

/** Options of the Google Cloud clients. */
interface GoogleCloudOptions {
  projectId?: string;
  /** A service account key (its JSON key file's `client_email` and `private_key`). */
  credentials?: { client_email: string; private_key: string; [field: string]: any };
  apiEndpoint?: string;
  [option: string]: any;
}
/** Google Cloud clients, as Segment exposes them. BigQuery and Storage run over REST; the gRPC-only ones throw, naming the REST endpoint to call with `fetch`. */
declare const google: {
  cloud: {
    bigquery: {
      BigQuery: new (
        options?: GoogleCloudOptions,
      ) => {
        dataset(id: string): {
          table(id: string): {
            insert(rows: any | any[], options?: Record<string, any>): Promise<any[]>;
            [m: string]: any;
          };
          [m: string]: any;
        };
        query(query: string | Record<string, any>): Promise<any[]>;
        [method: string]: any;
      };
      [name: string]: any;
    };
    storage: {
      Storage: new (
        options?: GoogleCloudOptions,
      ) => {
        bucket(name: string): {
          file(name: string): {
            save(data: string | Uint8Array, options?: Record<string, any>): Promise<void>;
            download(options?: Record<string, any>): Promise<[Buffer]>;
            [m: string]: any;
          };
          [m: string]: any;
        };
        [method: string]: any;
      };
      [name: string]: any;
    };
    /** Not available (gRPC only): throws, naming the REST endpoint to call with `fetch`. */
    readonly automl: never;
    /** Not available (gRPC only): throws, naming the REST endpoint to call with `fetch`. */
    readonly datastore: never;
    /** Not available (gRPC only): throws, naming the REST endpoint to call with `fetch`. */
    readonly firestore: never;
    /** Not available (gRPC only): throws, naming the REST endpoint to call with `fetch`. */
    readonly functions: never;
    /** Not available (gRPC only): throws, naming the REST endpoint to call with `fetch`. */
    readonly pubsub: never;
    /** Not available (gRPC only): throws, naming the REST endpoint to call with `fetch`. */
    readonly tasks: never;
  };
};

/** A Skyflow vault client (skyflow-node). */
interface SkyflowClient {
  insert(
    records: { records: Array<{ table: string; fields: Record<string, any> }> },
    options?: { tokens?: boolean; upsert?: any[]; continueOnError?: boolean },
  ): Promise<any>;
  detokenize(request: { records: Array<{ token: string; redaction?: string }> }): Promise<any>;
  getById(request: {
    records: Array<{ ids: string[]; table: string; redaction?: string }>;
  }): Promise<any>;
  [method: string]: any;
}
/** skyflow-node, as Segment exposes it: `skyflowlib.skyflow.Skyflow.init({ vaultID, vaultURL, getBearerToken })`. */
declare const skyflowlib: {
  skyflow: {
    Skyflow: {
      init(config: {
        vaultID: string;
        vaultURL: string;
        getBearerToken: () => Promise<string>;
        options?: Record<string, any>;
      }): SkyflowClient;
      [name: string]: any;
    };
    generateBearerTokenFromCreds(
      credentials: string,
      options?: Record<string, any>,
    ): Promise<{ accessToken: string; tokenType: string }>;
    [name: string]: any;
  };
};
