;; sample: keeps one event in every N and drops the others, to thin a camera's
;; firehose before it reaches an expensive receiver.
;;
;; A Weir filter written as a plain WebAssembly module against the core-module ABI of
;; contract 0.2 (wit/core-module.md): no component tooling, no JSON library, 80 lines
;; of WAT.
;;
;; Config: {"every": N}, N from 1 to 999999999 (default 1: keep everything). The first
;; number in the config is N. The count lives in Weir's state store, shared by every
;; instance of the filter, so the route keeps exactly the 1st, (N+1)th, (2N+1)th...
;; event however many instances run.
;;
;; Build: wat2wasm sample.wat -o sample.wasm   (or: wasm-tools parse sample.wat -o sample.wasm)
(module
  (import "weir" "log" (func $log (param i32 i32 i32)))
  ;; (key, delta, ttl_ms (-1: none), out) -> 0, the new count written at out.
  (import "weir" "state_increment" (func $increment (param i32 i32 i64 i64 i32) (result i64)))
  (memory (export "memory") 1)

  (data (i32.const 16) "{\"verdict\":\"keep\"}")
  (data (i32.const 64) "{\"verdict\":\"drop\",\"reason\":\"sampled out\"}")
  (data (i32.const 128) "the config must be {\"every\": N} with N a whole number from 1 to 999999999")
  (data (i32.const 256) "sampling: one event in every N kept")
  (data (i32.const 320) "seen")
  ;; 384: the count state_increment writes.

  (global $every (mut i64) (i64.const 1))

  ;; The contract this module speaks: 0.2.0, as major << 16 | minor << 8 | patch.
  (func (export "weir_abi_version") (result i32)
    (i32.const 0x200))

  ;; (pointer << 32) | length, the shape every result takes.
  (func $packed (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  ;; One input at a time: every buffer starts at 64 KiB, growing the memory to fit.
  (func (export "weir_alloc") (param $len i32) (result i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (local.get $len) (i32.const 131071)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 65536))

  ;; Reads N: the first run of digits in the config.
  (func (export "weir_init") (param $ptr i32) (param $len i32) (result i64)
    (local $end i32) (local $c i32) (local $n i64) (local $digits i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $c (i32.sub (i32.load8_u (local.get $ptr)) (i32.const 48)))
        (if (i32.lt_u (local.get $c) (i32.const 10))
          (then
            (local.set $n
              (i64.add (i64.mul (local.get $n) (i64.const 10)) (i64.extend_i32_u (local.get $c))))
            (local.set $digits (i32.add (local.get $digits) (i32.const 1))))
          (else (br_if $done (local.get $digits))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $next)))
    (if (local.get $digits)
      (then
        (if (i32.or (i64.eqz (local.get $n)) (i32.gt_u (local.get $digits) (i32.const 9)))
          (then (return (call $packed (i32.const 128) (i32.const 73)))))
        (global.set $every (local.get $n))))
    (call $log (i32.const 1) (i32.const 256) (i32.const 35))
    (i64.const 0))

  ;; Counts the event in the shared state, and keeps the 1st, (N+1)th, (2N+1)th...
  (func (export "weir_filter") (param $ptr i32) (param $len i32) (result i64)
    ;; A refusal (negative) cannot happen for a short key and a small number; if it
    ;; did, trapping hands the event to the route's failure policy.
    (if (i64.lt_s
          (call $increment (i32.const 320) (i32.const 4) (i64.const 1) (i64.const -1) (i32.const 384))
          (i64.const 0))
      (then (unreachable)))
    (if (result i64)
      (i64.eqz (i64.rem_u (i64.sub (i64.load (i32.const 384)) (i64.const 1)) (global.get $every)))
      (then (call $packed (i32.const 16) (i32.const 18)))
      (else (call $packed (i32.const 64) (i32.const 41))))))
