// weir-sdk: write Weir filters in AssemblyScript, as WebAssembly core modules of
// contract 0.2 (wit/core-module.md). The SDK owns the module's exports and the JSON
// (json-as); a filter is a class:
//
//   import { JSON } from "json-as";
//   import { Event, Filter, Verdict, register } from "weir-sdk";
//   export { weir_abi_version, weir_alloc, weir_init, weir_filter } from "weir-sdk";
//
//   @json
//   class Config {
//     min_confidence: f64 = 0.5;
//   }
//
//   class OnlyPeople extends Filter<Config> {
//     min: f64 = 0;
//     init(config: Config): string | null {     // null accepts the config
//       this.min = config.min_confidence;
//       return null;
//     }
//     filter(event: Event): Verdict {
//       for (let i = 0; i < event.predictionList.length; i++) {
//         const p = event.predictionList[i];
//         if (p.class == "person" && p.confidenceOr(1) >= this.min) return Verdict.keep();
//       }
//       return Verdict.drop("no person");
//     }
//   }
//
//   register(new OnlyPeople());
//
// Build: asc assembly/filter.ts -o filter.wasm --runtime incremental --optimize --transform json-as
// (do not name the entry file assembly/index.ts: with json-as's transform, it builds an
// empty module).
import { JSON } from "json-as";

/** The contract this SDK speaks, as weir_abi_version returns it: 0.2.0. */
export const VERSION: i32 = 0x200;

// ---- the event ----

/** A bounding box in the document's units; x, y: the top-left corner. */
@json
export class BBox {
  x: f64 = 0;
  y: f64 = 0;
  width: f64 = 0;
  height: f64 = 0;
}

/** One prediction, as Weir read it from the document. */
@json
export class Prediction {
  /** Its place in the prediction list: what keepPredictions takes. */
  index: u32 = 0;
  /** The class label (`class` or `label`). */
  class: string = "";
  /** `confidence` or `score`, null when the model gives none: see confidenceOr. */
  @optional
  confidence: JSON.Box<f64> | null = null;
  /** The mask file it refers to. */
  @optional
  mask: string | null = null;
  @optional
  bbox: BBox | null = null;
  /** The prediction as it stands in the document. */
  json: JSON.Raw = new JSON.Raw("null");

  /** The confidence, or `otherwise` when there is none. */
  confidenceOr(otherwise: f64): f64 {
    const c = this.confidence;
    return c == null ? otherwise : c.value;
  }
}

@json
export class Attachment {
  name: string = "";
  content_type: string = "";
  size: u64 = 0;
}

/** What Weir writes (wit/core-module.md). */
@json
class Wire {
  id: string = "";
  route: string = "";
  task: string = "other";
  metadata: Map<string, string> = new Map<string, string>();
  predictions: JSON.Raw = new JSON.Raw("null");
  prediction_list: Prediction[] = [];
  attachments: Attachment[] = [];
  destinations: string[] = [];
}

/** Well-known tasks (Event.task is open: a sender may name others). */
export namespace Task {
  export const OBJECT_DETECTION = "object-detection";
  export const CLASSIFICATION = "classification";
  export const MULTILABEL_CLASSIFICATION = "multilabel-classification";
  export const INSTANCE_SEGMENTATION = "instance-segmentation";
  export const SEMANTIC_SEGMENTATION = "semantic-segmentation";
  export const OTHER = "other";
}

/** Why an edit or a state operation was refused: null when it was not. */
export class Refusal {
  constructor(
    /** no-such-prediction, no-such-attachment, no-such-destination, invalid-json,
     * too-large, not-a-number, out-of-range, not-utf8. */
    public kind: string,
    public message: string,
  ) {}
}

/** Weir's limits on metadata, the ones senders meet too. */
export const MAX_METADATA_KEY = 128;
export const MAX_METADATA_VALUE = 4096;
export const MAX_METADATA_ENTRIES = 64;

/**
 * One event, as it came in: edits are recorded, checked against the event as the
 * edits before them leave it, and applied by Weir in order when the filter keeps the
 * event; they do not change these fields. Each edit returns null, or the Refusal.
 */
export class Event {
  /** The sender's Idempotency-Key or webhook-id, or one Weir gave. */
  id: string;
  /** The route the event came in on. */
  route: string;
  /** The model's task: see Task, or any name a sender gives. */
  task: string;
  /** The metadata entries, in order. */
  metadata: Map<string, string>;
  /** The predictions document's JSON text. */
  predictions: string;
  /** The predictions as Weir read them: most filters need nothing else. */
  predictionList: Prediction[];
  /** The attachments, without their bytes (see attachmentBytes). */
  attachments: Attachment[];
  /** The destinations the event is bound for. */
  destinations: string[];

  edits: string[] = [];
  private count: i32; // predictions listed after the edits so far; -1 once unknown
  private attachmentsLeft: string[] = [];
  private destinationsLeft: string[] = [];
  private metadataKeys: string[] = [];

  constructor(wire: Wire) {
    this.id = wire.id;
    this.route = wire.route;
    this.task = wire.task;
    this.metadata = wire.metadata;
    this.predictions = wire.predictions.toString();
    this.predictionList = wire.prediction_list;
    this.attachments = wire.attachments;
    this.destinations = wire.destinations;
    this.count = wire.prediction_list.length;
  }

  private tracked: bool = false;

  /** What the checks follow, from the first edit on. */
  private track(): void {
    if (this.tracked) return;
    this.tracked = true;
    for (let i = 0; i < this.attachments.length; i++) this.attachmentsLeft.push(this.attachments[i].name);
    this.destinationsLeft = this.destinations.slice(0);
    this.metadataKeys = this.metadata.keys();
  }

  /** The value of a metadata entry, or null. */
  metadataValue(key: string): string | null {
    return this.metadata.has(key) ? this.metadata.get(key) : null;
  }

  /** The bytes of an attachment, copied from Weir on request; null when there is none. */
  attachmentBytes(name: string): Uint8Array | null {
    const n = String.UTF8.encode(name);
    const size = hostAttachment(changetype<usize>(n), n.byteLength, 0, 0);
    if (size < 0) return null;
    const bytes = new Uint8Array(i32(size));
    hostAttachment(changetype<usize>(n), n.byteLength, bytes.dataStart, bytes.length);
    return bytes;
  }

  /** Keeps only the predictions at these indices of the prediction list (as the edits
   * before left it: after a first keep, indices refer to the kept ones, in order). */
  keepPredictions(indices: u32[]): Refusal | null {
    if (this.count >= 0) {
      let distinct = 0;
      for (let i = 0; i < indices.length; i++) {
        if (indices[i] >= u32(this.count))
          return new Refusal("no-such-prediction", "kept prediction " + indices[i].toString() + ", but the event lists " + this.count.toString());
        if (indices.indexOf(indices[i]) == i) distinct++;
      }
      this.count = distinct;
    }
    return this.edit("keep_predictions", JSON.stringify(indices));
  }

  /** Replaces the predictions document (JSON text). */
  setPredictions(json: string): Refusal | null {
    if (!isJson(json)) return new Refusal("invalid-json", "set predictions that are not valid JSON");
    this.count = -1;
    return this.edit("set_predictions", json);
  }

  removeAttachment(name: string): Refusal | null {
    this.track();
    const at = this.attachmentsLeft.indexOf(name);
    if (at < 0) return new Refusal("no-such-attachment", "removed attachment " + JSON.stringify(name) + ", which the event does not have");
    this.attachmentsLeft.splice(at, 1);
    return this.edit("remove_attachment", JSON.stringify(name));
  }

  /** Adds a metadata entry, or overwrites the key's value in place. */
  setMetadata(key: string, value: string): Refusal | null {
    this.track();
    if (key.length == 0) return new Refusal("too-large", "a metadata key must not be empty");
    if (String.UTF8.byteLength(key) > MAX_METADATA_KEY) return new Refusal("too-large", "the metadata key is too long");
    if (String.UTF8.byteLength(value) > MAX_METADATA_VALUE) return new Refusal("too-large", "the metadata value is too long");
    if (!this.metadataKeys.includes(key)) {
      if (this.metadataKeys.length + 1 > MAX_METADATA_ENTRIES) return new Refusal("too-large", "too many metadata entries");
      this.metadataKeys.push(key);
    }
    return this.edit("set_metadata", '{"key":' + JSON.stringify(key) + ',"value":' + JSON.stringify(value) + "}");
  }

  /** Removes a metadata entry (absent: not an error). */
  removeMetadata(key: string): Refusal | null {
    this.track();
    const at = this.metadataKeys.indexOf(key);
    if (at >= 0) this.metadataKeys.splice(at, 1);
    return this.edit("remove_metadata", JSON.stringify(key));
  }

  /** Narrows the destinations to these names, each one of the current destinations. */
  narrowDestinations(names: string[]): Refusal | null {
    this.track();
    for (let i = 0; i < names.length; i++)
      if (!this.destinationsLeft.includes(names[i]))
        return new Refusal("no-such-destination", "routed the event to " + JSON.stringify(names[i]) + ", which is not one of its destinations");
    const kept: string[] = [];
    for (let i = 0; i < this.destinationsLeft.length; i++)
      if (names.includes(this.destinationsLeft[i])) kept.push(this.destinationsLeft[i]);
    this.destinationsLeft = kept;
    return this.edit("narrow_destinations", JSON.stringify(names));
  }

  private edit(kind: string, json: string): Refusal | null {
    this.edits.push('{"' + kind + '":' + json + "}");
    return null;
  }
}

// ---- verdicts ----

/** What a filter decides: keep the event (with its edits), drop it, or say it cannot
 * process it (an error: the route's failure policy decides; retryable: 503). */
export class Verdict {
  private constructor(
    public kind: string,
    public text: string,
    public retryable: bool,
  ) {}
  static keep(): Verdict {
    return new Verdict("keep", "", false);
  }
  static drop(reason: string): Verdict {
    return new Verdict("drop", reason, false);
  }
  static error(message: string, retryable: bool = false): Verdict {
    return new Verdict("error", message, retryable);
  }
}

// ---- the filter ----

/** The filter, built once per instance. */
export abstract class FilterBase {
  /** @internal */
  abstract initFrom(config: string): string | null;
  /** Decides on one event. */
  abstract filter(event: Event): Verdict;
}

/**
 * A filter whose config, a @json class C, is parsed from the route's JSON; keys that
 * C does not have, and values of another type than C's defaults, are refused.
 */
export abstract class Filter<C> extends FilterBase {
  /** Receives the config: null accepts it, a message refuses it. */
  abstract init(config: C): string | null;

  initFrom(config: string): string | null {
    const problem = checkConfig(config, JSON.stringify<C>(instantiate<C>()));
    if (problem != null) return problem;
    return this.init(JSON.parse<C>(config));
  }
}

let filter: FilterBase | null = null;

/** Makes `f` the module's filter. */
export function register(f: FilterBase): void {
  filter = f;
}

/** The first problem of a config against the JSON of the config type's defaults. */
function checkConfig(config: string, defaults: string): string | null {
  if (!isJson(config)) return "invalid config: it is not JSON";
  const value = JSON.parse<JSON.Value>(config);
  if (value.type != JSON.Types.Object) return "invalid config: it must be a JSON object";
  const given = value.get<JSON.Obj>();
  const known = JSON.parse<JSON.Obj>(defaults);
  const keys = given.keys();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!known.has(key)) return "invalid config: unknown field `" + key + "`, expected one of " + quoteAll(known.keys());
    const want = known.get(key)!;
    const got = given.get(key)!;
    if (want.type != JSON.Types.Null && sort(want.type) != sort(got.type))
      return "invalid config: `" + key + "` must be " + describe(want.type);
  }
  return null;
}

function sort(t: i32): i32 {
  // Every number type reads as a number.
  return t == JSON.Types.U8 || t == JSON.Types.U16 || t == JSON.Types.U32 || t == JSON.Types.U64 ||
    t == JSON.Types.I8 || t == JSON.Types.I16 || t == JSON.Types.I32 || t == JSON.Types.I64 ||
    t == JSON.Types.F32 || t == JSON.Types.F64 ? JSON.Types.F64 : t;
}

function describe(t: i32): string {
  t = sort(t);
  if (t == JSON.Types.F64) return "a number";
  if (t == JSON.Types.Bool) return "true or false";
  if (t == JSON.Types.String) return "a string";
  if (t == JSON.Types.Array) return "an array";
  return "an object";
}

function quoteAll(keys: string[]): string {
  let out = "";
  for (let i = 0; i < keys.length; i++) out += (i ? ", `" : "`") + keys[i] + "`";
  return out;
}

/** Whether the text is one JSON value. */
export function isJson(text: string): bool {
  let i = skipValue(text, skipSpace(text, 0));
  return i >= 0 && skipSpace(text, i) == text.length;
}

function skipSpace(s: string, i: i32): i32 {
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    i++;
  }
  return i;
}

/** The end of the JSON value at i, or -1. */
function skipValue(s: string, i: i32): i32 {
  if (i >= s.length) return -1;
  const c = s.charCodeAt(i);
  if (c == 0x22) {
    i++;
    while (i < s.length) {
      const d = s.charCodeAt(i);
      if (d == 0x22) return i + 1;
      if (d < 0x20) return -1;
      i += d == 0x5c ? 2 : 1;
    }
    return -1;
  }
  if (c == 0x7b || c == 0x5b) {
    const close = c == 0x7b ? 0x7d : 0x5d;
    i = skipSpace(s, i + 1);
    if (i < s.length && s.charCodeAt(i) == close) return i + 1;
    while (true) {
      if (c == 0x7b) {
        if (i >= s.length || s.charCodeAt(i) != 0x22) return -1;
        i = skipValue(s, i);
        if (i < 0) return -1;
        i = skipSpace(s, i);
        if (i >= s.length || s.charCodeAt(i) != 0x3a) return -1;
        i = skipSpace(s, i + 1);
      }
      i = skipValue(s, i);
      if (i < 0) return -1;
      i = skipSpace(s, i);
      if (i >= s.length) return -1;
      const d = s.charCodeAt(i);
      if (d == close) return i + 1;
      if (d != 0x2c) return -1;
      i = skipSpace(s, i + 1);
    }
  }
  if (s.startsWith("true", i)) return i + 4;
  if (s.startsWith("false", i)) return i + 5;
  if (s.startsWith("null", i)) return i + 4;
  // A number: -?digits(.digits)?([eE][+-]?digits)?
  const start = i;
  if (s.charCodeAt(i) == 0x2d) i++;
  const digits = i;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  if (i == digits || (s.charCodeAt(digits) == 0x30 && i - digits > 1)) return -1;
  if (i < s.length && s.charCodeAt(i) == 0x2e) {
    const f = ++i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    if (i == f) return -1;
  }
  if (i < s.length && (s.charCodeAt(i) == 0x65 || s.charCodeAt(i) == 0x45)) {
    i++;
    if (i < s.length && (s.charCodeAt(i) == 0x2b || s.charCodeAt(i) == 0x2d)) i++;
    const e = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    if (i == e) return -1;
  }
  return i > start ? i : -1;
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

/**
 * A number as Rust (and so Weir's Rust filters) prints it: never an exponent, no
 * trailing ".0" (0.5, 1, 0.0000001). The digits are AssemblyScript's shortest
 * round-trip ones.
 */
export function formatNumber(value: f64): string {
  if (isNaN(value)) return "NaN";
  if (!isFinite(value)) return value < 0 ? "-inf" : "inf";
  let s = value.toString(); // 0.5, 1.0, 1e-7, 1.5e+21, -0.0
  let sign = "";
  if (s.startsWith("-")) {
    sign = "-";
    s = s.substring(1);
  }
  let exponent = 0;
  const e = s.indexOf("e");
  if (e >= 0) {
    exponent = I32.parseInt(s.substring(e + 1));
    s = s.substring(0, e);
  }
  const dot = s.indexOf(".");
  let point = (dot < 0 ? s.length : dot) + exponent; // digits before the point
  let digits = dot < 0 ? s : s.substring(0, dot) + s.substring(dot + 1);
  while (digits.length > 1 && digits.charCodeAt(0) == 0x30) {
    digits = digits.substring(1);
    point--;
  }
  while (digits.length > 1 && digits.charCodeAt(digits.length - 1) == 0x30) digits = digits.substring(0, digits.length - 1);
  if (digits == "0") return sign + "0";
  let out: string;
  if (point <= 0) out = "0." + "0".repeat(-point) + digits;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = digits.substring(0, point) + "." + digits.substring(point);
  return sign + out;
}

// ---- host services ----

@external("weir", "log")
declare function hostLog(level: i32, ptr: usize, len: usize): void;
@external("weir", "attachment")
declare function hostAttachment(name: usize, nameLen: i32, buf: usize, bufLen: i32): i64;
@external("weir", "state_get")
declare function hostStateGet(key: usize, keyLen: i32, buf: usize, bufLen: i32): i64;
@external("weir", "state_set")
declare function hostStateSet(key: usize, keyLen: i32, value: usize, valueLen: i32, ttlMs: i64): i64;
@external("weir", "state_compare_and_set")
declare function hostStateCas(key: usize, keyLen: i32, expected: usize, expectedLen: i32, value: usize, valueLen: i32, ttlMs: i64): i64;
@external("weir", "state_increment")
declare function hostStateIncrement(key: usize, keyLen: i32, delta: i64, ttlMs: i64, out: usize): i64;
@external("weir", "state_delete")
declare function hostStateDelete(key: usize, keyLen: i32): i64;

/** Weir's log, tagged with the plugin's name. Debug and trace show with WEIR_LOG=debug. */
export namespace log {
  export function trace(message: string): void {
    write(0, message);
  }
  export function debug(message: string): void {
    write(1, message);
  }
  export function info(message: string): void {
    write(2, message);
  }
  export function warn(message: string): void {
    write(3, message);
  }
  export function error(message: string): void {
    write(4, message);
  }
  function write(level: i32, message: string): void {
    const b = String.UTF8.encode(message);
    hostLog(level, changetype<usize>(b), b.byteLength);
  }
}

/** The result of a state operation: its value, or the Refusal. */
export class StateResult<T> {
  constructor(
    public value: T,
    public refusal: Refusal | null,
  ) {}
}

/**
 * The filter's state store: one per filter of a route, shared by all its instances,
 * kept across hot reloads (and restarts with state = "durable"). ttlMs < 0 (NO_EXPIRY):
 * no expiry. Values are strings here (UTF-8 in the store).
 */
export namespace state {
  export const NO_EXPIRY: i64 = -1;

  function refusal(code: i64): Refusal {
    if (code == -3) return new Refusal("not-a-number", "the value is not a decimal integer");
    if (code == -4) return new Refusal("out-of-range", "the sum is out of range");
    if (code == -5) return new Refusal("not-utf8", "the key is not UTF-8");
    return new Refusal("too-large", "the key or the entry is too large for the state store");
  }

  /** A key's value, or null when it is absent or expired. */
  export function get(key: string): string | null {
    const k = String.UTF8.encode(key);
    let size = hostStateGet(changetype<usize>(k), k.byteLength, 0, 0);
    while (size >= 0) {
      const buf = new ArrayBuffer(i32(size));
      const again = hostStateGet(changetype<usize>(k), k.byteLength, changetype<usize>(buf), buf.byteLength);
      if (again >= 0 && again <= size) return String.UTF8.decodeUnsafe(changetype<usize>(buf), usize(again));
      size = again; // changed in between: read again
    }
    return null;
  }

  export function set(key: string, value: string, ttlMs: i64): Refusal | null {
    const k = String.UTF8.encode(key);
    const v = String.UTF8.encode(value);
    const code = hostStateSet(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength, ttlMs < 0 ? -1 : ttlMs);
    return code == 0 ? null : refusal(code);
  }

  /** Sets the key to value (null: deletes it) only if its value is expected (null:
   * absent or expired); value: whether it was set. */
  export function compareAndSet(key: string, expected: string | null, value: string | null, ttlMs: i64): StateResult<bool> {
    const k = String.UTF8.encode(key);
    const e = expected == null ? new ArrayBuffer(0) : String.UTF8.encode(expected);
    const v = value == null ? new ArrayBuffer(0) : String.UTF8.encode(value);
    const code = hostStateCas(
      changetype<usize>(k), k.byteLength,
      changetype<usize>(e), expected == null ? -1 : e.byteLength,
      changetype<usize>(v), value == null ? -1 : v.byteLength,
      ttlMs < 0 ? -1 : ttlMs,
    );
    return code < 0 ? new StateResult<bool>(false, refusal(code)) : new StateResult<bool>(code == 1, null);
  }

  /** Sets the key if absent: true for exactly one caller until it expires. */
  export function claim(key: string, ttlMs: i64): StateResult<bool> {
    return compareAndSet(key, null, "1", ttlMs);
  }

  /** Adds delta to the key's decimal value (absent: 0); value: the new value. */
  export function increment(key: string, delta: i64, ttlMs: i64): StateResult<i64> {
    const k = String.UTF8.encode(key);
    const out = new ArrayBuffer(8);
    const code = hostStateIncrement(changetype<usize>(k), k.byteLength, delta, ttlMs < 0 ? -1 : ttlMs, changetype<usize>(out));
    return code == 0 ? new StateResult<i64>(load<i64>(changetype<usize>(out)), null) : new StateResult<i64>(0, refusal(code));
  }

  /** Deletes a key; true when a live entry was there. */
  export function remove(key: string): bool {
    const k = String.UTF8.encode(key);
    return hostStateDelete(changetype<usize>(k), k.byteLength) == 1;
  }
}

// ---- the exports (re-export them from the entry file) ----

let result = new ArrayBuffer(0); // the last result, alive until the next call

function pack(text: string): i64 {
  result = String.UTF8.encode(text);
  return (i64(changetype<usize>(result)) << 32) | i64(result.byteLength);
}

/** Takes the input the host wrote into a buffer from weir_alloc, and frees it. */
function input(ptr: usize, len: i32): string {
  const text = String.UTF8.decodeUnsafe(ptr, len);
  heap.free(ptr);
  return text;
}

export function weir_abi_version(): i32 {
  return VERSION;
}

export function weir_alloc(len: i32): usize {
  return heap.alloc(len);
}

export function weir_init(ptr: usize, len: i32): i64 {
  const config = input(ptr, len);
  const f = filter;
  if (f == null) return pack("the filter registers no handler: call register(new MyFilter()) in the entry file");
  const refusal = f.initFrom(config);
  return refusal == null ? 0 : pack(refusal.length ? refusal : "the filter refused its config");
}

export function weir_filter(ptr: usize, len: i32): i64 {
  const event = new Event(JSON.parse<Wire>(input(ptr, len)));
  const f = filter;
  const verdict = f == null ? Verdict.error("no filter registered") : f.filter(event);
  if (verdict.kind == "drop") return pack('{"verdict":"drop","reason":' + JSON.stringify(verdict.text) + "}");
  if (verdict.kind == "error")
    return pack('{"verdict":"error","message":' + JSON.stringify(verdict.text) + ',"retryable":' + (verdict.retryable ? "true" : "false") + "}");
  if (event.edits.length == 0) return pack('{"verdict":"keep"}');
  return pack('{"verdict":"keep","edits":[' + event.edits.join(",") + "]}");
}
