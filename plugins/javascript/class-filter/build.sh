#!/usr/bin/env bash
# Builds the JavaScript class filter: ./build.sh OUT.wasm
# Needs node and the SDK's build tools (`npm install` in plugin-sdk/javascript).
set -euo pipefail
out="$(realpath -m "${1:?usage: build.sh OUT.wasm}")"
here="$(cd "$(dirname "$0")" && pwd)"
exec node "$here/../../../plugin-sdk/javascript/build.mjs" "$here/filter.js" -o "$out"
