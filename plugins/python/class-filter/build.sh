#!/usr/bin/env bash
# Builds the Python class filter: ./build.sh OUT.wasm
# Needs python3 with componentize-py importable (pip install componentize-py==0.25.1);
# the SDK is taken from this repository (plugin-sdk/python).
set -euo pipefail
out="$(realpath -m "${1:?usage: build.sh OUT.wasm}")"
here="$(cd "$(dirname "$0")" && pwd)"
export PYTHONPATH="$here/../../../plugin-sdk/python${PYTHONPATH:+:$PYTHONPATH}"
exec python3 -m weir build "$here/class_filter.py" -o "$out"
