#!/usr/bin/env bash
# Builds the SDK's exercise filter: build.sh OUT.wasm
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")"
GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
  go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o "$out" .
