#!/usr/bin/env bash
# What a filter costs, measured the same way in every language (docs/LANGUAGES.md):
# the class filter of each language on the 1 KB object-detection fixture.
#
#   plugin-sdk/costs.sh WEIR [REPEAT]
#
# WEIR is the weir binary to measure with (a release build: a debug build's own code
# dominates every call); the class filters are built first with each language's
# build.sh (the toolchains must be installed; see docs/LANGUAGES.md). Prints one line
# per language: the .wasm size, the first load (compiling), a cached load, the
# instance's linear memory, and the warm call time (the median of 5 runs, each the mean
# of REPEAT calls, default 5000), with its ratio to the Rust component's.
set -euo pipefail
weir=$(realpath "${1:?usage: costs.sh WEIR [REPEAT]}")
repeat=${2:-5000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$root/target/costs
mkdir -p "$work"
event=$root/tests/fixtures/object-detection.json
config='{"classes":["person","car"],"min_confidence":0.5}'

measure() { # name wasm
  local name=$1 wasm=$2 cache=$work/cache-$1
  rm -rf "$cache"
  local size first cached memory calls
  size=$(stat -c %s "$wasm")
  first=$(WEIR_CACHE_DIR=$cache "$weir" filter --plugin "$wasm" --config "$config" --event "$event" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["time"]["load_us"])')
  cached=$(WEIR_CACHE_DIR=$cache "$weir" filter --plugin "$wasm" --config "$config" --event "$event" --json 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["time"]["cached"]; print(d["time"]["load_us"])')
  calls=()
  for _ in 1 2 3 4 5; do
    calls+=("$(WEIR_CACHE_DIR=$cache "$weir" filter --plugin "$wasm" --config "$config" --event "$event" --repeat "$repeat" --json 2>/dev/null |
      python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["time"]["filter_us"], d["instance_memory_bytes"])')")
  done
  printf '%s\n' "${calls[@]}" | python3 -c '
import sys, statistics
name, size, first, cached = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [line.split() for line in sys.stdin if line.strip()]
call = statistics.median(float(r[0]) for r in rows)
memory = max(int(r[1]) for r in rows)
print(f"{name}\t{size}\t{first/1e3:.1f}\t{cached/1e3:.2f}\t{memory/2**20:.1f}\t{call:.2f}")
' "$name" "$size" "$first" "$cached"
}

echo -e "language\tbytes\tcompile_ms\tcached_load_ms\tinstance_MiB\twarm_call_us"
rust=$work/rust-class-filter.wasm
(cd "$root" && cargo build --quiet --profile plugin --target wasm32-wasip2 -p class-filter --target-dir target/wasm-guests)
cp "$root/target/wasm-guests/wasm32-wasip2/plugin/class_filter.wasm" "$rust"
measure rust "$rust"
for language in python javascript typescript go c zig cpp assemblyscript wat; do
  wasm=$work/$language-class-filter.wasm
  bash "$root/plugins/$language/class-filter/build.sh" "$wasm" >/dev/null 2>&1 ||
    { echo -e "$language\tbuild failed (toolchain missing?)"; continue; }
  measure "$language" "$wasm"
done
