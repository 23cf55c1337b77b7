// weir-filter-sdk: write Weir filters (weir:filter@0.2.0) in JavaScript or TypeScript.
//
// A filter module exports `filter(event)` and, if it takes a config, `init(config)`:
//
//   import { keep, drop } from 'weir-filter-sdk';
//   let camera;
//   export function init(config) { camera = config.camera; }   // config: parsed JSON
//   export function filter(event) {
//     return event.metadataValue('camera') === camera ? keep() : drop('another camera');
//   }
//
// and `weir-filter-build app.js -o filter.wasm` makes it a component. What the filter
// throws becomes the contract's filter-error (never a trap). Types: index.d.ts.
import { log as hostLog } from 'weir:filter/host@0.2.0';
import * as hostState from 'weir:filter/state@0.2.0';

// --- errors ---------------------------------------------------------------------------

/** The filter cannot build itself or process this event, on purpose: the message is
 * passed on as is; the route's failure policy decides the event's fate. */
export class FilterError extends Error {
  constructor(message, { retryable = false } = {}) {
    super(String(message));
    this.name = 'FilterError';
    this.retryable = Boolean(retryable);
  }
}

/** The event may succeed later: Weir answers the sender 503 with Retry-After. */
export class Retry extends FilterError {
  constructor(message) {
    super(message, { retryable: true });
    this.name = 'Retry';
  }
}

/** Weir refused a call (an edit that does not fit the event, a state operation past the
 * store's limits); nothing changed. `kind`: `no-such-prediction`, `no-such-attachment`,
 * `no-such-destination`, `invalid-json`, `too-large`, `not-a-number`, `out-of-range`,
 * or a kind a later Weir adds. Left uncaught, it fails the filter with Weir's message. */
export class Refused extends FilterError {
  constructor(kind, message) {
    super(message);
    this.name = 'Refused';
    this.kind = kind;
  }
}

// componentize-js throws an import's `result` error as an Error whose `payload` is the
// WIT value (a `refusal` here).
function refused(error) {
  const refusal = error?.payload ?? error;
  if (refusal && typeof refusal.kind === 'string' && typeof refusal.message === 'string') {
    return new Refused(refusal.kind, refusal.message);
  }
  return error;
}

function checked(call) {
  try {
    return call();
  } catch (error) {
    throw refused(error);
  }
}

// --- verdicts -------------------------------------------------------------------------

const KEEP = Object.freeze({ tag: 'keep' });

/** Pass the event on, with the edits made during the call. */
export function keep() {
  return KEEP;
}

/** Stop the event here; `reason` says why (Weir counts and logs it). */
export function drop(reason) {
  return { tag: 'drop', val: String(reason) };
}

// --- the event ------------------------------------------------------------------------

/** One prediction event, lent to the filter for one call: every method asks Weir, and
 * each edit is checked by Weir at once (a refused one throws `Refused`). */
export class Event {
  #e;

  constructor(handle) {
    this.#e = handle;
  }

  /** The event id (the sender's Idempotency-Key or webhook-id, or one Weir assigned). */
  id() {
    return this.#e.id();
  }

  /** The name of the route the event came in on. */
  route() {
    return this.#e.route();
  }

  /** The model's task: `object-detection`, `classification`, `multilabel-classification`,
   * `instance-segmentation`, `semantic-segmentation`, `other`, or another name. */
  task() {
    return this.#e.task();
  }

  /** The metadata entries, in order, as a Map. */
  metadata() {
    return new Map(this.#e.metadata());
  }

  /** The value of one metadata entry, or undefined. */
  metadataValue(key) {
    return this.#e.metadataValue(key);
  }

  /** The predictions document, as JSON text. */
  predictions() {
    return this.#e.predictions();
  }

  /** The predictions document, parsed. */
  predictionsJson() {
    return JSON.parse(this.#e.predictions());
  }

  /** The predictions as Weir read them (every task type, batch job results), in
   * document order: `{index, class, confidence?, mask?, bbox?, json}`. */
  predictionList() {
    return this.#e.predictionList();
  }

  /** The attachments, without their bytes: `{name, contentType, size}` (size a number). */
  attachments() {
    return this.#e.attachments().map((a) => ({ name: a.name, contentType: a.contentType, size: Number(a.size) }));
  }

  /** The bytes of one attachment (a Uint8Array), copied from Weir only now; undefined
   * when the event has none of that name. */
  attachmentBytes(name) {
    return this.#e.attachmentBytes(name);
  }

  /** The destinations the event is currently bound for. */
  destinations() {
    return this.#e.destinations();
  }

  /** Keeps only these predictions (indices of predictionList(), or the predictions
   * themselves); Weir removes the others from the document. */
  keepPredictions(predictions) {
    const indices = Uint32Array.from(predictions, (p) => (typeof p === 'number' ? p : p.index));
    checked(() => this.#e.keepPredictions(indices));
  }

  /** Replaces the predictions document: JSON text, or a value to serialise. */
  setPredictions(document) {
    const text = typeof document === 'string' ? document : JSON.stringify(document);
    checked(() => this.#e.setPredictions(text));
  }

  /** Removes the attachment of this name. */
  removeAttachment(name) {
    checked(() => this.#e.removeAttachment(name));
  }

  /** Sets a metadata entry (overwriting the key's value in place). */
  setMetadata(key, value) {
    checked(() => this.#e.setMetadata(key, String(value)));
  }

  /** Removes a metadata entry, if there is one. */
  removeMetadata(key) {
    checked(() => this.#e.removeMetadata(key));
  }

  /** Narrows the destinations to these names (each one of destinations()). */
  narrowDestinations(names) {
    checked(() => this.#e.narrowDestinations([...names]));
  }
}

// --- config ---------------------------------------------------------------------------

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} \`${value}\``;
}

function kindOf(example) {
  if (Array.isArray(example)) return 'array';
  if (example === null) return 'any';
  return typeof example;
}

/** The config `raw` (parsed JSON) checked against `defaults`: a key not in `defaults`
 * is refused (`invalid config: unknown field ...`), a value of another type than the
 * default's is refused, and absent keys take the default. A default of `null` accepts
 * any value. Arrays of strings are checked item by item when the default is `[]` and
 * `options.stringArrays` names the key, or when the default holds strings. */
export function parseConfig(raw, defaults, { stringArrays = [] } = {}) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FilterError(`invalid config: invalid type: ${describe(raw)}, expected an object`);
  }
  const names = Object.keys(defaults);
  for (const key of Object.keys(raw)) {
    if (!names.includes(key)) {
      const expected = names.length === 1 ? `expected \`${names[0]}\`` : `expected one of ${names.map((n) => `\`${n}\``).join(', ')}`;
      throw new FilterError(`invalid config: unknown field \`${key}\`, ${expected}`);
    }
  }
  const config = {};
  for (const key of names) {
    const fallback = defaults[key];
    if (!(key in raw)) {
      config[key] = structuredClone(fallback);
      continue;
    }
    const value = raw[key];
    const kind = kindOf(fallback);
    if (kind !== 'any' && kindOf(value) !== kind) {
      throw new FilterError(`invalid config: ${key}: invalid type: ${describe(value)}, expected ${kind === 'array' ? 'an array' : `a ${kind}`}`);
    }
    if (kind === 'array' && (stringArrays.includes(key) || fallback.some((v) => typeof v === 'string'))) {
      value.forEach((item, i) => {
        if (typeof item !== 'string') {
          throw new FilterError(`invalid config: ${key}[${i}]: invalid type: ${describe(item)}, expected a string`);
        }
      });
    }
    config[key] = value;
  }
  return config;
}

// --- state ----------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function bytes(value) {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return encoder.encode(value);
  if (typeof value === 'number' || typeof value === 'bigint') return encoder.encode(String(value));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError(`state values are Uint8Array, string or number, not ${typeof value}`);
}

function ttlMs(seconds) {
  if (seconds === undefined || seconds === null) return undefined;
  if (typeof seconds !== 'number' || !(seconds >= 0)) throw new TypeError(`ttl is a number of seconds, 0 or more, got ${seconds}`);
  return BigInt(Math.min(Math.floor(seconds * 1000), Number.MAX_SAFE_INTEGER));
}

/** The filter's key/value store, shared by all its instances and kept across events
 * and hot reloads (and restarts, with `state = "durable"`). Values are bytes; strings
 * are stored as UTF-8, numbers as decimal text. `ttl` is in seconds. */
export const state = Object.freeze({
  /** The value of a key (Uint8Array), or undefined when absent or expired. */
  get(key) {
    return hostState.get(key);
  },
  /** The value of a key as text, or undefined when absent, expired or not UTF-8. */
  getString(key) {
    const value = hostState.get(key);
    if (value === undefined) return undefined;
    try {
      return decoder.decode(value);
    } catch {
      return undefined;
    }
  },
  /** Sets a key, to expire after `ttl` seconds (never, when undefined). */
  set(key, value, ttl) {
    checked(() => hostState.set(key, bytes(value), ttlMs(ttl)));
  },
  /** Sets a key to `value` (or deletes it, for undefined) only if its value is
   * `expected` (undefined: absent or expired); whether it did. */
  compareAndSet(key, expected, value, ttl) {
    return checked(() => hostState.compareAndSet(key, bytes(expected), bytes(value), ttlMs(ttl)));
  },
  /** Claims a key for `ttl` seconds: true for exactly one caller until it expires. */
  claim(key, ttl) {
    return checked(() => hostState.compareAndSet(key, undefined, encoder.encode('1'), ttlMs(ttl)));
  },
  /** Adds `delta` (default 1) to the key's decimal value (0 when absent) and returns it. */
  increment(key, delta = 1, ttl) {
    return Number(checked(() => hostState.increment(key, BigInt(delta), ttlMs(ttl))));
  },
  /** Deletes a key; whether it was there. */
  delete(key) {
    return hostState.delete(key);
  },
});

// --- log ------------------------------------------------------------------------------

function logAt(level) {
  return (message) => hostLog(level, typeof message === 'string' ? message : String(message));
}

/** Messages in Weir's log, tagged with the filter's name (rate-limited, cut when long;
 * debug and trace show only with WEIR_LOG=weir=debug). */
export const log = Object.freeze({
  trace: logAt('trace'),
  debug: logAt('debug'),
  info: logAt('info'),
  warn: logAt('warn'),
  error: logAt('error'),
});

// --- numbers as Rust writes them ------------------------------------------------------

/** `x` as Rust's `{}` writes an f64 (`0.5`, `2`, `0.0000001`, never an exponent): for
 * messages that must match a Rust filter's byte for byte. */
export function rustNumber(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Object.is(x, -0)) return '-0';
  const text = String(x);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const sign = text.startsWith('-') ? '-' : '';
  const mantissa = text.slice(sign.length, e);
  const exponent = Number(text.slice(e + 1));
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let out;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + out;
}
