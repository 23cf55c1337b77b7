;; {{name}}: a Weir filter in WebAssembly text. Keeps the predictions at or above
;; min_confidence (config {"min_confidence": 0.8}, default 0.5) and drops the event when
;; none is left.
;;
;; A core module of contract 0.2 (wit/core-module.md). WAT has no libraries, so this file
;; is the SDK too: the scaffolding every module needs (memory, allocator, packed results,
;; the version export, the log import) and small JSON readers, then the filter itself at
;; the end, to change. README.md tells the JSON the module reads and writes.
;;
;; Build: ./build.sh   (wat2wasm filter.wat -o {{name}}.wasm; or wasm-tools parse)
(module
  ;; ---- imports: Weir's services (all optional; any other import fails the load) ----

  ;; (level 0 trace .. 4 error, ptr, len): a UTF-8 message in Weir's log.
  (import "weir" "log" (func $log (param i32 i32 i32)))
  ;; The state store, shared by every instance of the filter (wit/core-module.md):
  ;; (import "weir" "state_get" (func $state_get (param i32 i32 i32 i32) (result i64)))
  ;; (import "weir" "state_set" (func $state_set (param i32 i32 i32 i32 i64) (result i64)))
  ;; (import "weir" "state_compare_and_set" (func $state_cas (param i32 i32 i32 i32 i32 i32 i64) (result i64)))
  ;; (import "weir" "state_increment" (func $state_increment (param i32 i32 i64 i64 i32) (result i64)))
  ;; (import "weir" "state_delete" (func $state_delete (param i32 i32) (result i64)))
  ;; An attachment's bytes: (name ptr, name len, buf ptr, buf len) -> full size, or -1.
  ;; (import "weir" "attachment" (func $attachment (param i32 i32 i32 i32) (result i64)))

  (memory (export "memory") 1)

  ;; Constant text below 1024, each at (offset, length) as the code names it.
  (data (i32.const 16) "{\"verdict\":\"keep\"}")                                              ;; 16, 18
  (data (i32.const 40) "{\"verdict\":\"keep\",\"edits\":[{\"keep_predictions\":[")            ;; 40, 48
  (data (i32.const 88) "]}]}")                                                                ;; 88, 4
  (data (i32.const 96) "{\"verdict\":\"drop\",\"reason\":\"no prediction is confident enough\"}") ;; 96, 63
  (data (i32.const 160) "prediction_list")                                                    ;; 160, 15
  (data (i32.const 176) "index")                                                              ;; 176, 5
  (data (i32.const 184) "confidence")                                                         ;; 184, 10
  (data (i32.const 200) "min_confidence")                                                     ;; 200, 14
  (data (i32.const 216) "min_confidence must be a number from 0 to 1")                        ;; 216, 43
  (data (i32.const 264) "ready: keeping the predictions at or above min_confidence")          ;; 264, 57

  ;; Memory above 4096: what the config left (kept for good), then the input of the
  ;; current call, then that call's scratch (tables, output).
  (global $persist (mut i32) (i32.const 4096)) ;; where the next input goes
  (global $pos (mut i32) (i32.const 0))        ;; where $number and $uint stopped

  ;; ---- scaffolding ----

  ;; The contract this module speaks: 0.2.0, as major << 16 | minor << 8 | patch.
  ;; Without this export, Weir serves the module contract 0.1.
  (func (export "weir_abi_version") (result i32)
    (i32.const 0x200))

  ;; One input at a time, above what the config left, with room for 8 times its length
  ;; (and 64 KiB) of scratch after it. 0: out of memory.
  (func (export "weir_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (call $align (global.get $persist)))
    (if (i32.eqz (call $reserve
          (i32.add (i32.add (local.get $ptr) (i32.shl (local.get $len) (i32.const 3))) (i32.const 65536))))
      (then (return (i32.const 0))))
    (local.get $ptr))

  ;; (pointer << 32) | length, the shape every result takes.
  (func $packed (param $ptr i32) (param $len i32) (result i64)
    (i64.or
      (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
      (i64.extend_i32_u (local.get $len))))

  (func $align (param $p i32) (result i32)
    (i32.and (i32.add (local.get $p) (i32.const 7)) (i32.const -8)))

  ;; Grows the memory to at least $end bytes; 0 when it cannot.
  (func $reserve (param $end i32) (result i32)
    (local $pages i32)
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1))

  ;; Copies $len bytes; returns the end of the copy.
  (func $emit (param $dst i32) (param $src i32) (param $len i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (br $next)))
    (local.get $dst))

  ;; Writes an unsigned number in decimal; returns the end.
  (func $emit_uint (param $dst i32) (param $v i32) (result i32)
    (if (i32.ge_u (local.get $v) (i32.const 10))
      (then (local.set $dst (call $emit_uint (local.get $dst) (i32.div_u (local.get $v) (i32.const 10))))))
    (i32.store8 (local.get $dst) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
    (i32.add (local.get $dst) (i32.const 1)))

  (func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen)) (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; ---- reading JSON: call $terminate first, then these stop at the input's end ----

  ;; Writes a 0 byte after an input, so the readers below stop there; returns the first
  ;; free (8-aligned) byte after it, where the call's scratch can start.
  (func $terminate (param $ptr i32) (param $len i32) (result i32)
    (i32.store8 (i32.add (local.get $ptr) (local.get $len)) (i32.const 0))
    (call $align (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 1))))

  (func $ws (param $p i32) (result i32)
    (local $c i32)
    (block $done
      (loop $next
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done
          (i32.eqz
            (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
              (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9))))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; From the opening quote of a string to just after its closing one (or to the end).
  (func $skip_string (param $p i32) (result i32)
    (local $c i32)
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (block $done
      (loop $next
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.eqz (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br_if $done (i32.eq (local.get $c) (i32.const 34)))
        (if (i32.and (i32.eq (local.get $c) (i32.const 92)) (i32.ne (i32.load8_u (local.get $p)) (i32.const 0)))
          (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))
        (br $next)))
    (local.get $p))

  ;; From the start of any value to just after it.
  (func $skip_value (param $p i32) (result i32)
    (local $c i32) (local $depth i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 34)) (then (return (call $skip_string (local.get $p)))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
      (then
        (loop $next
          (local.set $c (i32.load8_u (local.get $p)))
          (if (i32.eqz (local.get $c)) (then (return (local.get $p))))
          (if (i32.eq (local.get $c) (i32.const 34))
            (then (local.set $p (call $skip_string (local.get $p))) (br $next)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 123)) (i32.eq (local.get $c) (i32.const 91)))
            (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
          (if (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 93)))
            (then (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $next (local.get $depth)))
        (return (local.get $p))))
    ;; A number, true, false or null: up to the next delimiter.
    (block $done
      (loop $next
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done
          (i32.or
            (i32.or (i32.eqz (local.get $c)) (i32.eq (local.get $c) (i32.const 44)))
            (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 125)) (i32.eq (local.get $c) (i32.const 93)))
              (i32.le_u (local.get $c) (i32.const 32)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (local.get $p))

  ;; Whether the string from $k (its opening quote) to $kend (after its closing one) is
  ;; the key at ($name, $len), as written.
  (func $key_is (param $k i32) (param $kend i32) (param $name i32) (param $len i32) (result i32)
    (call $eq (i32.add (local.get $k) (i32.const 1)) (i32.sub (i32.sub (local.get $kend) (local.get $k)) (i32.const 2))
              (local.get $name) (local.get $len)))

  (func $is_digit (param $c i32) (result i32)
    (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))

  ;; 10^$k as a double: exact up to 10^22.
  (func $pow10 (param $k i32) (result f64)
    (local $r f64)
    (local.set $r (f64.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.le_s (local.get $k) (i32.const 0)))
        (local.set $r (f64.mul (local.get $r) (f64.const 10)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $r))

  ;; A JSON number: its digits gathered as an integer (up to 18 of them), then scaled by
  ;; a power of ten once, which rounds exactly when both fit in a double. Sets $pos.
  (func $number (param $p i32) (result f64)
    (local $neg i32) (local $m i64) (local $e i32) (local $x i32) (local $esign i32) (local $v f64)
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 45))
      (then (local.set $neg (i32.const 1)) (local.set $p (i32.add (local.get $p) (i32.const 1)))))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (call $is_digit (i32.load8_u (local.get $p)))))
        (if (i64.lt_u (local.get $m) (i64.const 100000000000000000))
          (then (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10))
                                       (i64.extend_i32_u (i32.sub (i32.load8_u (local.get $p)) (i32.const 48))))))
          (else (local.set $e (i32.add (local.get $e) (i32.const 1)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 46))
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (call $is_digit (i32.load8_u (local.get $p)))))
            (if (i64.lt_u (local.get $m) (i64.const 100000000000000000))
              (then
                (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10))
                                       (i64.extend_i32_u (i32.sub (i32.load8_u (local.get $p)) (i32.const 48)))))
                (local.set $e (i32.sub (local.get $e) (i32.const 1)))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))))
    (if (i32.eq (i32.or (i32.load8_u (local.get $p)) (i32.const 32)) (i32.const 101)) ;; e or E
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $esign (i32.const 1))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 45))
          (then (local.set $esign (i32.const -1)) (local.set $p (i32.add (local.get $p) (i32.const 1))))
          (else (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 43))
                  (then (local.set $p (i32.add (local.get $p) (i32.const 1)))))))
        (block $done
          (loop $next
            (br_if $done (i32.eqz (call $is_digit (i32.load8_u (local.get $p)))))
            (if (i32.lt_u (local.get $x) (i32.const 10000))
              (then (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 10))
                                           (i32.sub (i32.load8_u (local.get $p)) (i32.const 48))))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (local.set $e (i32.add (local.get $e) (i32.mul (local.get $esign) (local.get $x))))))
    (global.set $pos (local.get $p))
    (local.set $v (f64.convert_i64_u (local.get $m)))
    (if (i32.gt_s (local.get $e) (i32.const 0))
      (then (local.set $v (f64.mul (local.get $v) (call $pow10 (select (local.get $e) (i32.const 400) (i32.lt_s (local.get $e) (i32.const 400))))))))
    (if (i32.lt_s (local.get $e) (i32.const 0))
      (then
        (if (i32.lt_s (local.get $e) (i32.const -400)) (then (local.set $e (i32.const -400))))
        ;; Past 10^-308, in two steps so the divisor stays finite.
        (if (i32.lt_s (local.get $e) (i32.const -300))
          (then
            (local.set $v (f64.div (local.get $v) (call $pow10 (i32.const 300))))
            (local.set $e (i32.add (local.get $e) (i32.const 300)))))
        (local.set $v (f64.div (local.get $v) (call $pow10 (i32.sub (i32.const 0) (local.get $e)))))))
    (if (result f64) (local.get $neg) (then (f64.neg (local.get $v))) (else (local.get $v))))

  ;; An unsigned integer. Sets $pos.
  (func $uint (param $p i32) (result i32)
    (local $v i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (call $is_digit (i32.load8_u (local.get $p)))))
        (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (i32.sub (i32.load8_u (local.get $p)) (i32.const 48))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (global.set $pos (local.get $p))
    (local.get $v))

  ;; ---- the filter: change from here ----

  (global $min (mut f64) (f64.const 0.5))

  ;; The config, as JSON text (`{}` when the route gives none). Returns 0 to accept it,
  ;; or a packed message refusing it.
  (func (export "weir_init") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $k i32) (local $kend i32)
    (drop (call $terminate (local.get $ptr) (local.get $len)))
    ;; Walk the object's keys: {"min_confidence": 0.8, ...}.
    (local.set $p (call $ws (i32.add (call $ws (local.get $ptr)) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $k (local.get $p))
        (local.set $kend (call $skip_string (local.get $p)))
        (local.set $p (call $ws (i32.add (call $ws (local.get $kend)) (i32.const 1)))) ;; past the colon
        (if (call $key_is (local.get $k) (local.get $kend) (i32.const 200) (i32.const 14))
          (then
            (if (i32.eqz (call $is_digit (i32.load8_u (local.get $p))))
              (then (return (call $packed (i32.const 216) (i32.const 43)))))
            (global.set $min (call $number (local.get $p)))
            (local.set $p (global.get $pos)))
          (else (local.set $p (call $skip_value (local.get $p)))))
        (local.set $p (call $ws (local.get $p)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
          (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
        (br $next)))
    (if (f64.gt (global.get $min) (f64.const 1))
      (then (return (call $packed (i32.const 216) (i32.const 43)))))
    (call $log (i32.const 2) (i32.const 264) (i32.const 57))
    ;; Keep what the config left: later inputs go after it.
    (global.set $persist (call $align (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 1))))
    (i64.const 0))

  ;; One event (JSON at $ptr, $len bytes): returns the packed verdict. The output is
  ;; built in the scratch after the input, which stays valid until the next call.
  (func (export "weir_filter") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $k i32) (local $kend i32) (local $q i32) (local $c i32)
    (local $out i32) (local $o i32) (local $index i32) (local $conf f64) (local $n i32) (local $kept i32)
    (local.set $out (call $terminate (local.get $ptr) (local.get $len)))
    ;; Write the start of the keep verdict now; the indices follow as they are read.
    (local.set $o (call $emit (local.get $out) (i32.const 40) (i32.const 48)))
    ;; The event's keys, whatever their order: only prediction_list matters here.
    (local.set $p (call $ws (i32.add (call $ws (local.get $ptr)) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $k (local.get $p))
        (local.set $kend (call $skip_string (local.get $p)))
        (local.set $p (call $ws (i32.add (call $ws (local.get $kend)) (i32.const 1))))
        (if (call $key_is (local.get $k) (local.get $kend) (i32.const 160) (i32.const 15))
          (then
            ;; [ {"index": 0, "class": "person", "confidence": 0.91, ...}, ... ]
            (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
            (block $list_done
              (loop $item
                (br_if $list_done (i32.ne (i32.load8_u (local.get $p)) (i32.const 123)))
                (local.set $index (i32.const 0))
                (local.set $conf (f64.const 1)) ;; none: judged kept
                (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
                (block $fields_done
                  (loop $field
                    (br_if $fields_done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
                    (local.set $q (local.get $p))
                    (local.set $c (call $skip_string (local.get $p)))
                    (local.set $p (call $ws (i32.add (call $ws (local.get $c)) (i32.const 1))))
                    (if (call $key_is (local.get $q) (local.get $c) (i32.const 176) (i32.const 5))
                      (then (local.set $index (call $uint (local.get $p))) (local.set $p (global.get $pos)))
                      (else
                        (if (call $key_is (local.get $q) (local.get $c) (i32.const 184) (i32.const 10))
                          (then (local.set $conf (call $number (local.get $p))) (local.set $p (global.get $pos)))
                          (else (local.set $p (call $skip_value (local.get $p)))))))
                    (local.set $p (call $ws (local.get $p)))
                    (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
                      (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
                    (br $field)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (if (f64.ge (local.get $conf) (global.get $min))
                  (then
                    (if (local.get $kept) (then (i32.store8 (local.get $o) (i32.const 44)) (local.set $o (i32.add (local.get $o) (i32.const 1)))))
                    (local.set $o (call $emit_uint (local.get $o) (local.get $index)))
                    (local.set $kept (i32.add (local.get $kept) (i32.const 1)))))
                (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)))) ;; past the }
                (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
                  (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
                (br $item)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))) ;; past the ]
          (else (local.set $p (call $skip_value (local.get $p)))))
        (local.set $p (call $ws (local.get $p)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
          (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
        (br $next)))
    (if (i32.eqz (local.get $kept))
      (then (return (call $packed (i32.const 96) (i32.const 63)))))
    (if (i32.eq (local.get $kept) (local.get $n))
      (then (return (call $packed (i32.const 16) (i32.const 18)))))
    (local.set $o (call $emit (local.get $o) (i32.const 88) (i32.const 4)))
    (call $packed (local.get $out) (i32.sub (local.get $o) (local.get $out)))))
