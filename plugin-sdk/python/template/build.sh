#!/usr/bin/env bash
# Builds {{name}}.wasm from app.py: ./build.sh [OUT.wasm]
# Needs python3 with componentize-py (python3 -m pip install componentize-py==0.25.1);
# the Weir SDK is the one `weir new` put in weir-sdk/.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import componentize_py' 2>/dev/null; then
  echo "error: componentize-py is not installed for $PYTHON: $PYTHON -m pip install componentize-py==0.25.1" >&2
  exit 1
fi
export PYTHONPATH="$PWD/weir-sdk${PYTHONPATH:+:$PYTHONPATH}"
exec "$PYTHON" -m weir build app.py -o "${1:-{{name}}.wasm}"
