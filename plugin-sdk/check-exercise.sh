#!/usr/bin/env bash
# Checks an SDK's exercise filter (test/exercise.*, built by test/build.sh) with
# `weir filter`: every edit, the local refusals, the state store, attachment bytes, the
# log and an error (declined; `weir filter` does not show whether it is retryable)
# must come out as below.
#
#   plugin-sdk/check-exercise.sh EXERCISE.wasm   (WEIR=path/to/weir, default: weir on PATH)
#
# One script for every core-module SDK; each plugin-sdk/<language>/test/check.sh runs it.
set -euo pipefail
wasm=$1
weir=${WEIR:-weir}
fixtures=$(cd "$(dirname "$0")/../tests/fixtures" && pwd)
args=(--event "$fixtures/object-detection.json" --metadata camera=dock-3 --destination x --destination y
  --attachment "image.jpeg=$fixtures/image.jpeg" --json)
size=$(stat -c %s "$fixtures/image.jpeg")
ok=$("$weir" filter --plugin "$wasm" "${args[@]}" 2>/dev/null)
failed=$("$weir" filter --plugin "$wasm" "${args[@]}" --metadata fail=yes 2>&1 || true)
python3 - "$ok" "$failed" "$size" <<'PY'
import json, sys
ok, failed, size = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
event = ok["event"]
want = {
    "metadata": [["r", "no-such-prediction,no-such-attachment,no-such-destination,invalid-json"],
                 ["s", "v,5,true,true,absent"], ["img", size], ["task", "object-detection"]],
    "destinations": ["y"],
    "attachments": [],
    "predictions": {"predictions": [{"class": "b"}]},
}
problems = [f"{k}: {event[k]!r}, wanted {v!r}" for k, v in want.items() if event[k] != v]
if ok["verdict"] != "modify":
    problems.append(f"verdict {ok['verdict']}")
# `weir filter` does not show whether an error is retryable: only that it was declined.
if "asked to fail" not in failed or "declined" not in failed:
    problems.append("the retryable error: " + failed[-300:])
for p in problems:
    print("PROBLEM", p)
print(f"{8 - len(problems)} passed, {len(problems)} failed")
sys.exit(1 if problems else 0)
PY
