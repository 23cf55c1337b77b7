// Types of weir-filter-sdk. The shapes Weir hands over (a prediction, a bounding box,
// an attachment, a verdict) are the ones generated from wit/filter.wit into src/wit/ by
// gen-types.mjs (checked against the WIT by `npm test`), so they cannot drift from the
// contract.
/// <reference path="./wit/filter.d.ts" />
import type * as wit from 'weir:filter/types@0.2.0';

/** One prediction, as Weir read it from the document: `index` (what keepPredictions
 * takes), `class`, and `confidence`, `mask`, `bbox` when present; `json` is the
 * prediction's own JSON text. */
export type Prediction = wit.Prediction;
/** A bounding box in the document's own units; `x`, `y` the top-left corner. */
export type BBox = wit.Bbox;
/** A verdict: keep() or drop(reason). */
export type Verdict = wit.Verdict;

/** An attachment without its bytes (`size` a number, not the WIT's bigint). */
export interface Attachment extends Omit<wit.Attachment, 'size'> {
  size: number;
}

/** The filter cannot build itself or process this event, on purpose: the message is
 * passed on as is; the route's failure policy decides. */
export class FilterError extends Error {
  constructor(message: string, options?: { retryable?: boolean });
  readonly retryable: boolean;
}

/** The event may succeed later: Weir answers the sender 503 with Retry-After. */
export class Retry extends FilterError {
  constructor(message: string);
}

/** Weir refused a call; nothing changed. `kind`: `no-such-prediction`,
 * `no-such-attachment`, `no-such-destination`, `invalid-json`, `too-large`,
 * `not-a-number`, `out-of-range`, or one a later Weir adds. */
export class Refused extends FilterError {
  constructor(kind: string, message: string);
  readonly kind: string;
}

/** Pass the event on, with the edits made during the call. */
export function keep(): Verdict;
/** Stop the event here; `reason` says why. */
export function drop(reason: string): Verdict;

/** One prediction event, lent to the filter for one call. Reads ask Weir; edits are
 * checked by Weir at once and throw `Refused` when they do not fit the event. */
export class Event {
  private constructor();
  id(): string;
  route(): string;
  /** `object-detection`, `classification`, `multilabel-classification`,
   * `instance-segmentation`, `semantic-segmentation`, `other`, or another name. */
  task(): string;
  metadata(): Map<string, string>;
  metadataValue(key: string): string | undefined;
  predictions(): string;
  predictionsJson(): unknown;
  predictionList(): Prediction[];
  attachments(): Attachment[];
  attachmentBytes(name: string): Uint8Array | undefined;
  destinations(): string[];
  keepPredictions(predictions: Iterable<number | Prediction>): void;
  setPredictions(document: string | object): void;
  removeAttachment(name: string): void;
  setMetadata(key: string, value: string | number | boolean): void;
  removeMetadata(key: string): void;
  narrowDestinations(names: Iterable<string>): void;
}

/** The config checked against `defaults` (unknown keys and values of another type are
 * refused with `invalid config: ...`; absent keys take the default). */
export function parseConfig<T extends object>(
  raw: unknown,
  defaults: T,
  options?: { stringArrays?: (keyof T & string)[] },
): T;

type Bytes = Uint8Array | string | number | bigint;

/** The filter's key/value store, shared by its instances, outliving events. `ttl` in
 * seconds. */
export const state: {
  get(key: string): Uint8Array | undefined;
  getString(key: string): string | undefined;
  set(key: string, value: Bytes, ttl?: number): void;
  compareAndSet(key: string, expected: Bytes | undefined, value: Bytes | undefined, ttl?: number): boolean;
  claim(key: string, ttl: number): boolean;
  increment(key: string, delta?: number, ttl?: number): number;
  delete(key: string): boolean;
};

/** Messages in Weir's log, tagged with the filter's name. */
export const log: {
  trace(message: unknown): void;
  debug(message: unknown): void;
  info(message: unknown): void;
  warn(message: unknown): void;
  error(message: unknown): void;
};

/** `x` as Rust's `{}` writes an f64 (`0.5`, `2`, `0.0000001`). */
export function rustNumber(x: number): string;

/** What a filter module exports: `filter`, and `init` when it takes a config. */
export interface FilterModule {
  init?(config: any): void;
  filter(event: Event): Verdict;
}
