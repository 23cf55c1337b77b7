#!/usr/bin/env bash
# Checks this SDK's exercise filter (built by test/build.sh) with `weir filter`:
#
#   check.sh EXERCISE.wasm        (WEIR=path/to/weir, default: weir on PATH)
#
# The checks are the same for every core-module SDK: plugin-sdk/check-exercise.sh.
exec bash "$(dirname "$0")/../../check-exercise.sh" "$@"
