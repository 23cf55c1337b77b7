;; class-filter: keeps only the predictions of the configured classes at or above a
;; minimum confidence, and drops the event when none is left; the masks of removed
;; predictions go too. The WAT twin of plugins/rust/class-filter: same config, same
;; output, byte for byte (checked by plugins/compare-class-filter.sh on every fixture).
;;
;; A core module of contract 0.2 (wit/core-module.md), on the scaffolding of the WAT
;; template (plugin-sdk/wat): no JSON library. It walks the event Weir writes key by key
;; (so it does not rely on the order of the keys), reads `prediction_list` (index, class,
;; confidence, mask) and `attachments` (name), and skips everything else.
;;
;; Config: {"classes": ["person", "car"], "min_confidence": 0.5,
;;          "remove_orphaned_masks": true}, all optional; other keys are refused.
;; Limits of reading numbers without a library, said rather than hidden:
;; - min_confidence may have at most 15 significant digits and no exponent past 300
;;   (others are refused): within those, its text written back without exponent or
;;   trailing zeros is exactly the one Rust prints, which the drop reason needs;
;; - numbers are read exactly when their digits fit in 2^53 and their exponent in
;;   +-22 (all of Weir's usual confidences); past that, within a unit in the last place;
;; - keys are compared as written (a config key spelled with \u escapes is refused),
;;   classes are compared decoded.
;;
;; Build: wat2wasm class-filter.wat -o class-filter.wasm   (or: wasm-tools parse)
(module
  (memory (export "memory") 1)

  ;; Constant text, each at (offset, length) as the code names it.
  (data (i32.const 16) "{\"verdict\":\"keep\"}")                                  ;; 16, 18
  (data (i32.const 40) "{\"verdict\":\"keep\",\"edits\":[{\"keep_predictions\":[") ;; 40, 48
  (data (i32.const 88) ",{\"remove_attachment\":\"")                             ;; 88, 23
  (data (i32.const 112) "\"}")                                                   ;; 112, 2
  (data (i32.const 120) "]}")                                                    ;; 120, 2
  (data (i32.const 128) "{\"verdict\":\"drop\",\"reason\":\"no prediction of ")  ;; 128, 45
  (data (i32.const 176) " at confidence >= ")                                    ;; 176, 18
  (data (i32.const 200) "any class")                                             ;; 200, 9
  (data (i32.const 216) ", ")                                                    ;; 216, 2
  (data (i32.const 224) "prediction_list")                                       ;; 224, 15
  (data (i32.const 240) "attachments")                                           ;; 240, 11
  (data (i32.const 256) "index")                                                 ;; 256, 5
  (data (i32.const 264) "class")                                                 ;; 264, 5
  (data (i32.const 272) "confidence")                                            ;; 272, 10
  (data (i32.const 288) "mask")                                                  ;; 288, 4
  (data (i32.const 296) "name")                                                  ;; 296, 4
  (data (i32.const 304) "classes")                                               ;; 304, 7
  (data (i32.const 312) "min_confidence")                                        ;; 312, 14
  (data (i32.const 328) "remove_orphaned_masks")                                 ;; 328, 21
  (data (i32.const 352) "true")                                                  ;; 352, 4
  (data (i32.const 360) "false")                                                 ;; 360, 5
  (data (i32.const 368) "invalid config: it must be a JSON object")              ;; 368, 40
  (data (i32.const 408) "invalid config: it is not JSON")                        ;; 408, 30
  (data (i32.const 440) "invalid config: unknown field `")                       ;; 440, 31
  (data (i32.const 472) "`, expected one of `classes`, `min_confidence`, `remove_orphaned_masks`") ;; 472, 71
  (data (i32.const 544) "invalid config: `classes` must be an array of strings") ;; 544, 53
  (data (i32.const 600) "invalid config: `min_confidence` must be a number")     ;; 600, 49
  (data (i32.const 656) "invalid config: `remove_orphaned_masks` must be true or false") ;; 656, 61
  (data (i32.const 720) "min_confidence must be between 0 and 1, got ")          ;; 720, 44
  (data (i32.const 768) "min_confidence: this filter reads at most 15 significant digits, and no exponent past 300") ;; 768, 89

  ;; Memory above 4096: what the config left (kept for good), then the input of the
  ;; current call, then that call's scratch: tables, output.
  (global $persist (mut i32) (i32.const 4096)) ;; where the next input goes
  (global $pos (mut i32) (i32.const 0))        ;; where $number and $uint stopped
  (global $min (mut f64) (f64.const 0))
  (global $remove_masks (mut i32) (i32.const 1))
  (global $nclasses (mut i32) (i32.const 0))
  (global $classes (mut i32) (i32.const 0))    ;; per class: raw ptr, raw len, decoded ptr, decoded len
  (global $drop (mut i32) (i32.const 0))       ;; the drop verdict, built once
  (global $drop_len (mut i32) (i32.const 0))

  ;; ---- scaffolding (as in plugin-sdk/wat/template) ----

  ;; The contract this module speaks: 0.2.0, as major << 16 | minor << 8 | patch.
  (func (export "weir_abi_version") (result i32)
    (i32.const 0x200))

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

  ;; One input at a time, above what the config left, with room for 8 times its length
  ;; (and 64 KiB) of scratch after it.
  (func (export "weir_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (call $align (global.get $persist)))
    (if (i32.eqz (call $reserve
          (i32.add (i32.add (local.get $ptr) (i32.shl (local.get $len) (i32.const 3))) (i32.const 65536))))
      (then (return (i32.const 0))))
    (local.get $ptr))

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

  ;; ---- reading JSON: every input ends with a 0 byte the module writes after it ----

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

  (func $hex4 (param $p i32) (result i32)
    (local $v i32) (local $i i32) (local $c i32)
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $i) (i32.const 4)))
        (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
        (local.set $c
          (if (result i32) (call $is_digit (local.get $c))
            (then (i32.sub (local.get $c) (i32.const 48)))
            (else (i32.add (i32.and (i32.sub (i32.or (local.get $c) (i32.const 32)) (i32.const 97)) (i32.const 15)) (i32.const 10)))))
        (local.set $v (i32.or (i32.shl (local.get $v) (i32.const 4)) (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $v))

  ;; Writes a code point in UTF-8; returns the end.
  (func $utf8 (param $dst i32) (param $cp i32) (result i32)
    (if (i32.lt_u (local.get $cp) (i32.const 0x80))
      (then (i32.store8 (local.get $dst) (local.get $cp)) (return (i32.add (local.get $dst) (i32.const 1)))))
    (if (i32.lt_u (local.get $cp) (i32.const 0x800))
      (then
        (i32.store8 (local.get $dst) (i32.or (i32.const 0xc0) (i32.shr_u (local.get $cp) (i32.const 6))))
        (i32.store8 offset=1 (local.get $dst) (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
        (return (i32.add (local.get $dst) (i32.const 2)))))
    (if (i32.lt_u (local.get $cp) (i32.const 0x10000))
      (then
        (i32.store8 (local.get $dst) (i32.or (i32.const 0xe0) (i32.shr_u (local.get $cp) (i32.const 12))))
        (i32.store8 offset=1 (local.get $dst) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 6)) (i32.const 0x3f))))
        (i32.store8 offset=2 (local.get $dst) (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
        (return (i32.add (local.get $dst) (i32.const 3)))))
    (i32.store8 (local.get $dst) (i32.or (i32.const 0xf0) (i32.shr_u (local.get $cp) (i32.const 18))))
    (i32.store8 offset=1 (local.get $dst) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 12)) (i32.const 0x3f))))
    (i32.store8 offset=2 (local.get $dst) (i32.or (i32.const 0x80) (i32.and (i32.shr_u (local.get $cp) (i32.const 6)) (i32.const 0x3f))))
    (i32.store8 offset=3 (local.get $dst) (i32.or (i32.const 0x80) (i32.and (local.get $cp) (i32.const 0x3f))))
    (i32.add (local.get $dst) (i32.const 4)))

  ;; Decodes the escapes of a string's content ($src, $len bytes); returns the end.
  (func $unescape (param $src i32) (param $len i32) (param $dst i32) (result i32)
    (local $end i32) (local $c i32) (local $cp i32) (local $low i32)
    (local.set $end (i32.add (local.get $src) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $src)))
        (if (i32.ne (local.get $c) (i32.const 92))
          (then
            (i32.store8 (local.get $dst) (local.get $c))
            (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
            (local.set $src (i32.add (local.get $src) (i32.const 1)))
            (br $next)))
        (local.set $c (i32.load8_u offset=1 (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 2)))
        (if (i32.eq (local.get $c) (i32.const 117)) ;; \uXXXX, and a surrogate pair
          (then
            (local.set $cp (call $hex4 (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.const 4)))
            (if (i32.and
                  (i32.eq (i32.and (local.get $cp) (i32.const 0xfc00)) (i32.const 0xd800))
                  (i32.and (i32.eq (i32.load8_u (local.get $src)) (i32.const 92))
                           (i32.eq (i32.load8_u offset=1 (local.get $src)) (i32.const 117))))
              (then
                (local.set $low (call $hex4 (i32.add (local.get $src) (i32.const 2))))
                (if (i32.eq (i32.and (local.get $low) (i32.const 0xfc00)) (i32.const 0xdc00))
                  (then
                    (local.set $cp (i32.add (i32.const 0x10000)
                      (i32.or (i32.shl (i32.sub (local.get $cp) (i32.const 0xd800)) (i32.const 10))
                              (i32.sub (local.get $low) (i32.const 0xdc00)))))
                    (local.set $src (i32.add (local.get $src) (i32.const 6)))))))
            (local.set $dst (call $utf8 (local.get $dst) (local.get $cp)))
            (br $next)))
        (local.set $c
          (if (result i32) (i32.eq (local.get $c) (i32.const 110)) (then (i32.const 10))     ;; \n
            (else (if (result i32) (i32.eq (local.get $c) (i32.const 116)) (then (i32.const 9)) ;; \t
            (else (if (result i32) (i32.eq (local.get $c) (i32.const 114)) (then (i32.const 13)) ;; \r
            (else (if (result i32) (i32.eq (local.get $c) (i32.const 98)) (then (i32.const 8)) ;; \b
            (else (if (result i32) (i32.eq (local.get $c) (i32.const 102)) (then (i32.const 12)) ;; \f
            (else (local.get $c))))))))))))                                                  ;; \" \\ \/
        (i32.store8 (local.get $dst) (local.get $c))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (br $next)))
    (local.get $dst))

  ;; Whether a string's content holds an escape.
  (func $has_escape (param $p i32) (param $len i32) (result i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 92)) (then (return (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Writes the number text from $src to $end as Rust prints the double it reads as:
  ;; no exponent, no leading or trailing zeros ("5e-1" -> "0.5", "1.0" -> "1"). Returns
  ;; the end, or 0 past 15 significant digits or an exponent past 300. Uses 64 bytes
  ;; from $dst + 1024 as scratch.
  (func $normalize (param $src i32) (param $end i32) (param $dst i32) (result i32)
    (local $tmp i32) (local $n i32) (local $s i32) (local $point i32) (local $dot i32)
    (local $c i32) (local $x i32) (local $esign i32) (local $i i32)
    (local.set $tmp (i32.add (local.get $dst) (i32.const 1024)))
    (if (i32.eq (i32.load8_u (local.get $src)) (i32.const 45))
      (then
        (i32.store8 (local.get $dst) (i32.const 45))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $src)))
        (if (call $is_digit (local.get $c))
          (then
            (if (i32.ge_u (local.get $n) (i32.const 60)) (then (return (i32.const 0))))
            (i32.store8 (i32.add (local.get $tmp) (local.get $n)) (local.get $c))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))
            (if (i32.eqz (local.get $dot)) (then (local.set $point (i32.add (local.get $point) (i32.const 1))))))
          (else
            (br_if $done (i32.ne (local.get $c) (i32.const 46)))
            (local.set $dot (i32.const 1))))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (br $next)))
    (if (i32.lt_u (local.get $src) (local.get $end)) ;; the exponent
      (then
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $esign (i32.const 1))
        (if (i32.eq (i32.load8_u (local.get $src)) (i32.const 45))
          (then (local.set $esign (i32.const -1)) (local.set $src (i32.add (local.get $src) (i32.const 1))))
          (else (if (i32.eq (i32.load8_u (local.get $src)) (i32.const 43))
                  (then (local.set $src (i32.add (local.get $src) (i32.const 1)))))))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
            (if (i32.lt_u (local.get $x) (i32.const 10000))
              (then (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 10))
                                           (i32.sub (i32.load8_u (local.get $src)) (i32.const 48))))))
            (local.set $src (i32.add (local.get $src) (i32.const 1)))
            (br $next)))
        (local.set $point (i32.add (local.get $point) (i32.mul (local.get $esign) (local.get $x))))))
    ;; Leading zeros move the point; trailing ones go.
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $s) (local.get $n)))
        (br_if $done (i32.ne (i32.load8_u (i32.add (local.get $tmp) (local.get $s))) (i32.const 48)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (local.set $point (i32.sub (local.get $point) (i32.const 1)))
        (br $next)))
    (block $done
      (loop $next
        (br_if $done (i32.le_u (local.get $n) (local.get $s)))
        (br_if $done (i32.ne (i32.load8_u (i32.add (local.get $tmp) (i32.sub (local.get $n) (i32.const 1)))) (i32.const 48)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (if (i32.eq (local.get $s) (local.get $n))
      (then (i32.store8 (local.get $dst) (i32.const 48)) (return (i32.add (local.get $dst) (i32.const 1)))))
    (local.set $n (i32.sub (local.get $n) (local.get $s)))
    (local.set $tmp (i32.add (local.get $tmp) (local.get $s)))
    (if (i32.or (i32.gt_u (local.get $n) (i32.const 15))
                (i32.or (i32.lt_s (local.get $point) (i32.const -300)) (i32.gt_s (local.get $point) (i32.const 300))))
      (then (return (i32.const 0))))
    (if (i32.le_s (local.get $point) (i32.const 0))
      (then
        (i32.store16 (local.get $dst) (i32.const 0x2e30)) ;; "0."
        (local.set $dst (i32.add (local.get $dst) (i32.const 2)))
        (block $done
          (loop $next
            (br_if $done (i32.ge_s (local.get $point) (i32.const 0)))
            (i32.store8 (local.get $dst) (i32.const 48))
            (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
            (local.set $point (i32.add (local.get $point) (i32.const 1)))
            (br $next)))
        (return (call $emit (local.get $dst) (local.get $tmp) (local.get $n)))))
    (if (i32.ge_s (local.get $point) (local.get $n))
      (then
        (local.set $dst (call $emit (local.get $dst) (local.get $tmp) (local.get $n)))
        (local.set $i (local.get $n))
        (block $done
          (loop $next
            (br_if $done (i32.ge_s (local.get $i) (local.get $point)))
            (i32.store8 (local.get $dst) (i32.const 48))
            (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (return (local.get $dst))))
    (local.set $dst (call $emit (local.get $dst) (local.get $tmp) (local.get $point)))
    (i32.store8 (local.get $dst) (i32.const 46))
    (call $emit (i32.add (local.get $dst) (i32.const 1)) (i32.add (local.get $tmp) (local.get $point))
                (i32.sub (local.get $n) (local.get $point))))

  ;; ---- the config ----

  ;; Reads the config; refuses it with a message built at $w.
  (func (export "weir_init") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $k i32) (local $kend i32) (local $w i32) (local $c i32)
    (local $n i32) (local $q i32) (local $entry i32) (local $strings i32)
    (local $min_src i32) (local $min_end i32) (local $text i32) (local $i i32)
    (i32.store8 (i32.add (local.get $ptr) (local.get $len)) (i32.const 0))
    (local.set $w (call $align (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 1))))
    (local.set $p (call $ws (local.get $ptr)))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 123))
      (then (return (call $packed (i32.const 368) (i32.const 40)))))
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 125)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 34))
          (then (return (call $packed (i32.const 408) (i32.const 30)))))
        (local.set $k (local.get $p))
        (local.set $kend (call $skip_string (local.get $p)))
        (local.set $p (call $ws (local.get $kend)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 58))
          (then (return (call $packed (i32.const 408) (i32.const 30)))))
        (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
        (block $key
          ;; "classes": an array of strings. First counted, then listed at $w: for each,
          ;; its text as written (for the reason) and decoded (to compare).
          (if (call $key_is (local.get $k) (local.get $kend) (i32.const 304) (i32.const 7))
            (then
              (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 91))
                (then (return (call $packed (i32.const 544) (i32.const 53)))))
              (local.set $n (i32.const 0))
              (local.set $q (call $ws (i32.add (local.get $p) (i32.const 1))))
              (block $counted
                (loop $item
                  (br_if $counted (i32.eq (i32.load8_u (local.get $q)) (i32.const 93)))
                  (if (i32.ne (i32.load8_u (local.get $q)) (i32.const 34))
                    (then (return (call $packed (i32.const 544) (i32.const 53)))))
                  (local.set $n (i32.add (local.get $n) (i32.const 1)))
                  (local.set $q (call $ws (call $skip_string (local.get $q))))
                  (br_if $counted (i32.eq (i32.load8_u (local.get $q)) (i32.const 93)))
                  (if (i32.ne (i32.load8_u (local.get $q)) (i32.const 44))
                    (then (return (call $packed (i32.const 408) (i32.const 30)))))
                  (local.set $q (call $ws (i32.add (local.get $q) (i32.const 1))))
                  (br $item)))
              (global.set $nclasses (local.get $n))
              (global.set $classes (local.get $w))
              (local.set $strings (i32.add (local.get $w) (i32.shl (local.get $n) (i32.const 4))))
              (local.set $entry (local.get $w))
              (local.set $q (call $ws (i32.add (local.get $p) (i32.const 1))))
              (block $listed
                (loop $item
                  (br_if $listed (i32.eq (i32.load8_u (local.get $q)) (i32.const 93)))
                  (local.set $c (call $skip_string (local.get $q))) ;; after the closing quote
                  (i32.store (local.get $entry) (i32.add (local.get $q) (i32.const 1)))
                  (i32.store offset=4 (local.get $entry) (i32.sub (i32.sub (local.get $c) (local.get $q)) (i32.const 2)))
                  (i32.store offset=8 (local.get $entry) (local.get $strings))
                  (local.set $strings
                    (call $unescape (i32.load (local.get $entry)) (i32.load offset=4 (local.get $entry)) (local.get $strings)))
                  (i32.store offset=12 (local.get $entry) (i32.sub (local.get $strings) (i32.load offset=8 (local.get $entry))))
                  (local.set $entry (i32.add (local.get $entry) (i32.const 16)))
                  (local.set $q (call $ws (local.get $c)))
                  (if (i32.eq (i32.load8_u (local.get $q)) (i32.const 44))
                    (then (local.set $q (call $ws (i32.add (local.get $q) (i32.const 1))))))
                  (br $item)))
              (local.set $w (call $align (local.get $strings)))
              (local.set $p (i32.add (local.get $q) (i32.const 1)))
              (br $key)))
          ;; "min_confidence": a number.
          (if (call $key_is (local.get $k) (local.get $kend) (i32.const 312) (i32.const 14))
            (then
              (local.set $c (i32.load8_u (local.get $p)))
              (if (i32.eqz (i32.or (call $is_digit (local.get $c)) (i32.eq (local.get $c) (i32.const 45))))
                (then (return (call $packed (i32.const 600) (i32.const 49)))))
              (local.set $min_src (local.get $p))
              (global.set $min (call $number (local.get $p)))
              (local.set $p (global.get $pos))
              (local.set $min_end (local.get $p))
              (br $key)))
          ;; "remove_orphaned_masks": true or false.
          (if (call $key_is (local.get $k) (local.get $kend) (i32.const 328) (i32.const 21))
            (then
              (if (call $eq (local.get $p) (i32.const 4) (i32.const 352) (i32.const 4))
                (then
                  (global.set $remove_masks (i32.const 1))
                  (local.set $p (i32.add (local.get $p) (i32.const 4)))
                  (br $key)))
              (if (call $eq (local.get $p) (i32.const 5) (i32.const 360) (i32.const 5))
                (then
                  (global.set $remove_masks (i32.const 0))
                  (local.set $p (i32.add (local.get $p) (i32.const 5)))
                  (br $key)))
              (return (call $packed (i32.const 656) (i32.const 61)))))
          ;; Any other key is refused, named.
          (local.set $c (call $emit (local.get $w) (i32.const 440) (i32.const 31)))
          (local.set $c (call $emit (local.get $c) (i32.add (local.get $k) (i32.const 1))
                                    (i32.sub (i32.sub (local.get $kend) (local.get $k)) (i32.const 2))))
          (local.set $c (call $emit (local.get $c) (i32.const 472) (i32.const 71)))
          (return (call $packed (local.get $w) (i32.sub (local.get $c) (local.get $w)))))
        (local.set $p (call $ws (local.get $p)))
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 125)))
        (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 44))
          (then (return (call $packed (i32.const 408) (i32.const 30)))))
        (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
        (br $next)))
    ;; min_confidence as Rust prints it, for the messages.
    (local.set $text (local.get $w))
    (if (local.get $min_src)
      (then (local.set $w (call $normalize (local.get $min_src) (local.get $min_end) (local.get $text))))
      (else (i32.store8 (local.get $text) (i32.const 48)) (local.set $w (i32.add (local.get $text) (i32.const 1)))))
    (if (i32.eqz (local.get $w))
      (then (return (call $packed (i32.const 768) (i32.const 89)))))
    (if (i32.or (f64.lt (global.get $min) (f64.const 0)) (f64.gt (global.get $min) (f64.const 1)))
      (then
        (local.set $c (call $emit (local.get $w) (i32.const 720) (i32.const 44)))
        (local.set $c (call $emit (local.get $c) (local.get $text) (i32.sub (local.get $w) (local.get $text))))
        (return (call $packed (local.get $w) (i32.sub (local.get $c) (local.get $w))))))
    ;; The drop verdict, once: the classes as written in the config are valid JSON text.
    (global.set $drop (local.get $w))
    (local.set $c (call $emit (local.get $w) (i32.const 128) (i32.const 45)))
    (if (i32.eqz (global.get $nclasses))
      (then (local.set $c (call $emit (local.get $c) (i32.const 200) (i32.const 9)))))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $nclasses)))
        (if (local.get $i) (then (local.set $c (call $emit (local.get $c) (i32.const 216) (i32.const 2)))))
        (local.set $entry (i32.add (global.get $classes) (i32.shl (local.get $i) (i32.const 4))))
        (local.set $c (call $emit (local.get $c) (i32.load (local.get $entry)) (i32.load offset=4 (local.get $entry))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $c (call $emit (local.get $c) (i32.const 176) (i32.const 18)))
    (local.set $c (call $emit (local.get $c) (local.get $text) (i32.sub (local.get $w) (local.get $text))))
    (local.set $c (call $emit (local.get $c) (i32.const 112) (i32.const 2)))
    (global.set $drop_len (i32.sub (local.get $c) (global.get $drop)))
    ;; What the config left stays: inputs go after it.
    (global.set $persist (call $align (local.get $c)))
    (i64.const 0))

  ;; ---- the event ----

  ;; Whether the class ($p, $len bytes as written) is one of the config's.
  (func $class_kept (param $p i32) (param $len i32) (param $scratch i32) (result i32)
    (local $i i32) (local $entry i32)
    (if (i32.eqz (global.get $nclasses)) (then (return (i32.const 1))))
    (if (call $has_escape (local.get $p) (local.get $len))
      (then
        (local.set $len (i32.sub (call $unescape (local.get $p) (local.get $len) (local.get $scratch)) (local.get $scratch)))
        (local.set $p (local.get $scratch))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (global.get $nclasses)))
        (local.set $entry (i32.add (global.get $classes) (i32.shl (local.get $i) (i32.const 4))))
        (if (call $eq (local.get $p) (local.get $len) (i32.load offset=8 (local.get $entry)) (i32.load offset=12 (local.get $entry)))
          (then (return (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Scratch after the input: the predictions (2 x its length), the attachments (1 x),
  ;; the output. Predictions are read into 40-byte records: index, class (ptr, len), has
  ;; confidence, confidence (f64), mask (ptr, len; ptr 0 when none), kept.
  (func (export "weir_filter") (param $ptr i32) (param $len i32) (result i64)
    (local $p i32) (local $k i32) (local $kend i32) (local $q i32) (local $c i32)
    (local $tab i32) (local $np i32) (local $rec i32) (local $atab i32) (local $na i32)
    (local $out i32) (local $o i32) (local $i i32) (local $j i32) (local $kept i32) (local $skip i32)
    (i32.store8 (i32.add (local.get $ptr) (local.get $len)) (i32.const 0))
    (local.set $tab (call $align (i32.add (i32.add (local.get $ptr) (local.get $len)) (i32.const 1))))
    (local.set $atab (call $align (i32.add (local.get $tab) (i32.shl (local.get $len) (i32.const 1)))))
    (local.set $out (call $align (i32.add (local.get $atab) (local.get $len))))
    ;; The event's keys, whatever their order.
    (local.set $p (call $ws (i32.add (call $ws (local.get $ptr)) (i32.const 1))))
    (block $done
      (loop $next
        (br_if $done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $k (local.get $p))
        (local.set $kend (call $skip_string (local.get $p)))
        (local.set $p (call $ws (i32.add (call $ws (local.get $kend)) (i32.const 1))))
        (block $key
          (if (call $key_is (local.get $k) (local.get $kend) (i32.const 224) (i32.const 15))
            (then
              ;; prediction_list: [ {"index": 0, "class": "person", ...}, ... ]
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
              (block $list_done
                (loop $item
                  (br_if $list_done (i32.ne (i32.load8_u (local.get $p)) (i32.const 123)))
                  (local.set $rec (i32.add (local.get $tab) (i32.mul (local.get $np) (i32.const 40))))
                  (i64.store (local.get $rec) (i64.const 0))
                  (i64.store offset=8 (local.get $rec) (i64.const 0))
                  (i64.store offset=16 (local.get $rec) (i64.const 0))
                  (i64.store offset=24 (local.get $rec) (i64.const 0))
                  (i64.store offset=32 (local.get $rec) (i64.const 0))
                  (local.set $np (i32.add (local.get $np) (i32.const 1)))
                  (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
                  (block $fields_done
                    (loop $field
                      (br_if $fields_done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
                      (local.set $q (local.get $p))
                      (local.set $c (call $skip_string (local.get $p)))
                      (local.set $p (call $ws (i32.add (call $ws (local.get $c)) (i32.const 1))))
                      (block $value
                        (if (call $key_is (local.get $q) (local.get $c) (i32.const 256) (i32.const 5))
                          (then
                            (i32.store (local.get $rec) (call $uint (local.get $p)))
                            (local.set $p (global.get $pos))
                            (br $value)))
                        (if (call $key_is (local.get $q) (local.get $c) (i32.const 264) (i32.const 5))
                          (then
                            (local.set $q (call $skip_string (local.get $p)))
                            (i32.store offset=4 (local.get $rec) (i32.add (local.get $p) (i32.const 1)))
                            (i32.store offset=8 (local.get $rec) (i32.sub (i32.sub (local.get $q) (local.get $p)) (i32.const 2)))
                            (local.set $p (local.get $q))
                            (br $value)))
                        (if (call $key_is (local.get $q) (local.get $c) (i32.const 272) (i32.const 10))
                          (then
                            (i32.store offset=12 (local.get $rec) (i32.const 1))
                            (f64.store offset=16 (local.get $rec) (call $number (local.get $p)))
                            (local.set $p (global.get $pos))
                            (br $value)))
                        (if (call $key_is (local.get $q) (local.get $c) (i32.const 288) (i32.const 4))
                          (then
                            (local.set $q (call $skip_string (local.get $p)))
                            (i32.store offset=24 (local.get $rec) (i32.add (local.get $p) (i32.const 1)))
                            (i32.store offset=28 (local.get $rec) (i32.sub (i32.sub (local.get $q) (local.get $p)) (i32.const 2)))
                            (local.set $p (local.get $q))
                            (br $value)))
                        (local.set $p (call $skip_value (local.get $p))))
                      (local.set $p (call $ws (local.get $p)))
                      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
                        (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
                      (br $field)))
                  (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)))) ;; after }
                  (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
                    (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
                  (br $item)))
              (local.set $p (i32.add (local.get $p) (i32.const 1))) ;; after ]
              (br $key)))
          (if (call $key_is (local.get $k) (local.get $kend) (i32.const 240) (i32.const 11))
            (then
              ;; attachments: [ {"name": "image.jpeg", "content_type": ..., "size": ...}, ... ]
              (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
              (block $list_done
                (loop $item
                  (br_if $list_done (i32.ne (i32.load8_u (local.get $p)) (i32.const 123)))
                  (local.set $rec (i32.add (local.get $atab) (i32.shl (local.get $na) (i32.const 3))))
                  (i64.store (local.get $rec) (i64.const 0))
                  (local.set $na (i32.add (local.get $na) (i32.const 1)))
                  (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
                  (block $fields_done
                    (loop $field
                      (br_if $fields_done (i32.ne (i32.load8_u (local.get $p)) (i32.const 34)))
                      (local.set $q (local.get $p))
                      (local.set $c (call $skip_string (local.get $p)))
                      (local.set $p (call $ws (i32.add (call $ws (local.get $c)) (i32.const 1))))
                      (if (call $key_is (local.get $q) (local.get $c) (i32.const 296) (i32.const 4))
                        (then
                          (local.set $q (call $skip_string (local.get $p)))
                          (i32.store (local.get $rec) (i32.add (local.get $p) (i32.const 1)))
                          (i32.store offset=4 (local.get $rec) (i32.sub (i32.sub (local.get $q) (local.get $p)) (i32.const 2)))
                          (local.set $p (local.get $q)))
                        (else (local.set $p (call $skip_value (local.get $p)))))
                      (local.set $p (call $ws (local.get $p)))
                      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
                        (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
                      (br $field)))
                  (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))
                  (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
                    (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
                  (br $item)))
              (local.set $p (i32.add (local.get $p) (i32.const 1)))
              (br $key)))
          (local.set $p (call $skip_value (local.get $p))))
        (local.set $p (call $ws (local.get $p)))
        (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 44))
          (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1))))))
        (br $next)))
    ;; The decision, prediction by prediction.
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $np)))
        (local.set $rec (i32.add (local.get $tab) (i32.mul (local.get $i) (i32.const 40))))
        (if (i32.and
              (call $class_kept (i32.load offset=4 (local.get $rec)) (i32.load offset=8 (local.get $rec)) (local.get $out))
              (i32.or (i32.eqz (i32.load offset=12 (local.get $rec)))
                      (f64.ge (f64.load offset=16 (local.get $rec)) (global.get $min))))
          (then
            (i32.store offset=32 (local.get $rec) (i32.const 1))
            (local.set $kept (i32.add (local.get $kept) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (if (i32.eqz (local.get $kept))
      (then (return (call $packed (global.get $drop) (global.get $drop_len)))))
    (if (i32.eq (local.get $kept) (local.get $np))
      (then (return (call $packed (i32.const 16) (i32.const 18)))))
    ;; keep_predictions with the kept indices...
    (local.set $o (call $emit (local.get $out) (i32.const 40) (i32.const 48)))
    (local.set $j (i32.const 0))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $np)))
        (local.set $rec (i32.add (local.get $tab) (i32.mul (local.get $i) (i32.const 40))))
        (if (i32.load offset=32 (local.get $rec))
          (then
            (if (local.get $j) (then (i32.store8 (local.get $o) (i32.const 44)) (local.set $o (i32.add (local.get $o) (i32.const 1)))))
            (local.set $o (call $emit_uint (local.get $o) (i32.load (local.get $rec))))
            (local.set $j (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $o (call $emit (local.get $o) (i32.const 120) (i32.const 2)))
    ;; ...then remove_attachment for each mask referred to only by removed predictions,
    ;; present on the event, once. Mask and attachment names are compared as Weir wrote
    ;; both.
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.or (i32.eqz (global.get $remove_masks)) (i32.ge_u (local.get $i) (local.get $np))))
        (local.set $rec (i32.add (local.get $tab) (i32.mul (local.get $i) (i32.const 40))))
        (block $orphan
          (br_if $orphan (i32.or (i32.load offset=32 (local.get $rec)) (i32.eqz (i32.load offset=24 (local.get $rec)))))
          ;; Not the mask of a kept prediction, nor of a removed one before (already out).
          (local.set $skip (i32.const 0))
          (local.set $j (i32.const 0))
          (block $seen
            (loop $other
              (br_if $seen (i32.ge_u (local.get $j) (local.get $np)))
              (local.set $q (i32.add (local.get $tab) (i32.mul (local.get $j) (i32.const 40))))
              (if (i32.and
                    (i32.and (i32.ne (local.get $j) (local.get $i)) (i32.ne (i32.load offset=24 (local.get $q)) (i32.const 0)))
                    (i32.or (i32.load offset=32 (local.get $q)) (i32.lt_u (local.get $j) (local.get $i))))
                (then
                  (if (call $eq (i32.load offset=24 (local.get $q)) (i32.load offset=28 (local.get $q))
                                (i32.load offset=24 (local.get $rec)) (i32.load offset=28 (local.get $rec)))
                    (then (local.set $skip (i32.const 1)) (br $seen)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $other)))
          (br_if $orphan (local.get $skip))
          ;; Present on the event.
          (local.set $skip (i32.const 1))
          (local.set $j (i32.const 0))
          (block $found
            (loop $att
              (br_if $found (i32.ge_u (local.get $j) (local.get $na)))
              (local.set $q (i32.add (local.get $atab) (i32.shl (local.get $j) (i32.const 3))))
              (if (call $eq (i32.load (local.get $q)) (i32.load offset=4 (local.get $q))
                            (i32.load offset=24 (local.get $rec)) (i32.load offset=28 (local.get $rec)))
                (then (local.set $skip (i32.const 0)) (br $found)))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $att)))
          (br_if $orphan (local.get $skip))
          (local.set $o (call $emit (local.get $o) (i32.const 88) (i32.const 23)))
          (local.set $o (call $emit (local.get $o) (i32.load offset=24 (local.get $rec)) (i32.load offset=28 (local.get $rec))))
          (local.set $o (call $emit (local.get $o) (i32.const 112) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.set $o (call $emit (local.get $o) (i32.const 120) (i32.const 2)))
    (call $packed (local.get $out) (i32.sub (local.get $o) (local.get $out)))))
