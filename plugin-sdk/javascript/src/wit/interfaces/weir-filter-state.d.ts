/// <reference path="./weir-filter-types.d.ts" />
declare module 'weir:filter/state@0.2.0' {
  /**
   * The value of a key, or none when it is absent or expired.
   */
  export function get(key: string): Uint8Array | undefined;
  /**
   * Sets a key, to expire after `ttl-ms` milliseconds (never, when none).
   * Refused (`too-large`) when the entry alone exceeds the store's bytes.
   */
  export function set(key: string, value: Uint8Array, ttlMs: bigint | undefined): void;
  /**
   * Sets a key to `value` (or deletes it, when none) only if its current value
   * is `expected` (none: absent or expired). True when it was set. The way to
   * claim a key: `compare-and-set(k, none, some(v), some(ttl))` succeeds for
   * exactly one caller until the key expires.
   */
  export function compareAndSet(key: string, expected: Uint8Array | undefined, value: Uint8Array | undefined, ttlMs: bigint | undefined): boolean;
  /**
   * Adds `delta` to the key's value, read as a decimal integer (absent or
   * expired: 0), stores it as decimal text and returns it; `ttl-ms` as for
   * `set`. Refused (`not-a-number`) when the value is not a decimal integer.
   */
  export function increment(key: string, delta: bigint, ttlMs: bigint | undefined): bigint;
  /**
   * Deletes a key; true when it was there.
   */
  export { _delete as delete };
  function _delete(key: string): boolean;
  export type Refusal = import('weir:filter/types@0.2.0').Refusal;
}
