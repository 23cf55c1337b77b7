// min-confidence: keeps an event only when some prediction is at least as confident as
// the config asks, and drops the rest ("nothing worth sending").
//
// A Weir filter in AssemblyScript, against the core-module ABI of contract 0.2
// (wit/core-module.md):
// the event comes in as JSON, the verdict goes out as JSON. AssemblyScript has no JSON
// parser in its standard library, so this reads the numbers of the `"confidence"` keys
// directly: every task shape Weir's seeds use names its scores that way.
//
// Config: {"min_confidence": 0.8} (a number from 0 to 1; default 0.5).

@external("weir", "log")
declare function log(level: i32, ptr: usize, len: usize): void;

const KEY = '"confidence"';

let minConfidence: f64 = 0.5;
const keep = String.UTF8.encode('{"verdict":"keep"}');
const drop = String.UTF8.encode('{"verdict":"drop","reason":"no prediction is confident enough"}');
let message = new ArrayBuffer(0);

/** A result pointing at `buffer`: (pointer << 32) | length. */
function packed(buffer: ArrayBuffer): i64 {
  return (i64(changetype<usize>(buffer)) << 32) | i64(buffer.byteLength);
}

function info(text: string): void {
  message = String.UTF8.encode(text);
  log(2, changetype<usize>(message), message.byteLength);
}

function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/** The number after the key ending at `at` (`: 0.91`), or NaN when the value is not a number. */
function numberAfter(text: string, at: i32): f64 {
  let i = at;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  if (i >= text.length || text.charCodeAt(i) != 0x3a) return NaN; // ':'
  i++;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  let end = i;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    const numeric = (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x2d || c == 0x2b || c == 0x65 || c == 0x45;
    if (!numeric) break;
    end++;
  }
  if (end == i) return NaN;
  return parseFloat(text.substring(i, end));
}

/** Takes the input the host wrote into a buffer from `weir_alloc`, and frees it. */
function input(ptr: usize, len: i32): string {
  const text = String.UTF8.decodeUnsafe(ptr, len);
  heap.free(ptr);
  return text;
}

/** The contract this module speaks: 0.2.0, as major << 16 | minor << 8 | patch. */
export function weir_abi_version(): i32 {
  return 0x200;
}

export function weir_alloc(len: i32): usize {
  return heap.alloc(len);
}

export function weir_init(ptr: usize, len: i32): i64 {
  const config = input(ptr, len);
  const at = config.indexOf('"min_confidence"');
  if (at >= 0) {
    const value = numberAfter(config, at + 16);
    if (isNaN(value) || value < 0 || value > 1) {
      message = String.UTF8.encode("min_confidence must be a number from 0 to 1, as in {\"min_confidence\": 0.8}");
      return packed(message);
    }
    minConfidence = value;
  }
  info("keeping events with a prediction of confidence " + minConfidence.toString() + " or more");
  return 0;
}

export function weir_filter(ptr: usize, len: i32): i64 {
  const event = input(ptr, len);
  // Metadata values are strings, so a "confidence" key there has no number after it.
  let at = event.indexOf(KEY);
  while (at >= 0) {
    const at_end = at + KEY.length;
    if (numberAfter(event, at_end) >= minConfidence) return packed(keep);
    at = event.indexOf(KEY, at_end);
  }
  return packed(drop);
}
