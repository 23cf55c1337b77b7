#!/usr/bin/env bash
# Builds {{name}}.wasm from app.py: ./build.sh [OUT.wasm]
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import weir.build, componentize_py' 2>/dev/null; then
  echo "error: the Weir Python SDK is not installed for $PYTHON. Install it (with componentize-py) from a Weir checkout:" >&2
  echo "  $PYTHON -m pip install /path/to/weir/plugin-sdk/python" >&2
  exit 1
fi
exec "$PYTHON" -m weir build app.py -o "${1:-{{name}}.wasm}"
