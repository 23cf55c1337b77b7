#!/usr/bin/env bash
# Compares a class filter built as a core module with Weir's built-in Rust
# `class-filter`: `weir filter --json` on every fixture of tests/fixtures with the
# image and masks attached, for a set of configs; the verdict, the reason and the
# output event must be equal, byte for byte once serialised. Configs that the Rust
# filter refuses must be refused too (same exit code; for min_confidence, same message).
#
#   plugins/compare-class-filter.sh FILTER.wasm   (WEIR=path/to/weir, default: weir on PATH)
#
# One script for every plugins/<language>/class-filter/ built as a core module: it
# takes any .wasm. (plugins/python/compare.py does the same for components.)
set -euo pipefail
wasm=$1
weir=${WEIR:-weir}
root=$(cd "$(dirname "$0")/.." && pwd)
fixtures=$root/tests/fixtures
configs=(
  '{"classes":["person","car"],"min_confidence":0.5}'
  '{"classes":["person"],"min_confidence":0.9}'
  '{"classes":["vehicle","forklift-present"]}'
  '{}'
  '{"classes":["person"],"remove_orphaned_masks":false}'
  '{"classes":["truck"],"min_confidence":1e-7}'
  '{"classes":["truck","caf\u00e9 \"x\""],"min_confidence":0.25}'
  '{"classes":[],"min_confidence":1}'
  '{"min_confidence":0.9,"remove_orphaned_masks":true,"classes":["person","dog"]}'
)
refused=(
  '{"min_confidence":2}'
  '{"min_confidence":-0.5}'
  '{"class":["person"]}'
  '{"classes":"person"}'
)
pass=0 fail=0
compare() { # name, args...
  local name=$1; shift
  local want got
  want=$("$weir" filter --plugin class-filter --json "$@" 2>&1) || true
  got=$("$weir" filter --plugin "$wasm" --json "$@" 2>&1) || true
  if python3 - "$want" "$got" <<'PY'
import json, sys
def pick(text):
    try:
        v = json.loads(text)
    except ValueError:
        return ("error", text.split("refused its config: ", 1)[-1] if "min_confidence must" in text else "refused")
    return json.dumps([v["verdict"], v["reason"], v["event"]], ensure_ascii=False)
a, b = pick(sys.argv[1]), pick(sys.argv[2])
if a != b:
    print("  rust:", str(a)[:400]); print("  wasm:", str(b)[:400]); sys.exit(1)
PY
  then pass=$((pass + 1)); else fail=$((fail + 1)); echo "DIFFERENT: $name"; fi
}
for event in "$fixtures"/*.json; do
  stem=$(basename "$event" .json)
  args=(--event "$event" --attachment "image.jpeg=$fixtures/image.jpeg")
  for mask in "$fixtures/$stem".mask_*.png; do
    # stored as <fixture>.mask_0000.png, sent as mask_0000.png
    [ -e "$mask" ] && args+=(--attachment "mask_${mask##*.mask_}=$mask")
  done
  for config in "${configs[@]}"; do
    compare "$stem $config" "${args[@]}" --config "$config"
  done
done
for config in "${refused[@]}"; do
  compare "refused $config" --event "$fixtures/object-detection.json" --config "$config"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
