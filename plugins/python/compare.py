#!/usr/bin/env python3
"""Compares filters with Weir's built-in Rust examples, through `weir filter --json`.

    python3 plugins/python/compare.py --weir PATH/TO/weir class-filter py-class-filter.wasm [js.wasm ...]
    python3 plugins/python/compare.py --weir PATH/TO/weir cooldown py-cooldown.wasm

For each case (a fixture of tests/fixtures with its image and masks as attachments, a
config, and for the cooldown how many times the event is sent to the same instance,
`--repeat`), runs the built-in example named first and each candidate .wasm, and
compares the verdict, the drop reason and the output event; for a config the filter
refuses, the exit status and the message (for configs refused by the Rust filter's
serde reader, only that both refuse with an `invalid config:` message: `ok~` shows the
wording of each). Prints one line per case and candidate,
then `N passed, N failed`; exits 1 on any difference. Language-neutral: the
JavaScript and TypeScript class filters are checked with it too.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "tests", "fixtures"))

FIXTURE_NAMES = [
    "object-detection",
    "classification",
    "multilabel-classification",
    "instance-segmentation",
    "semantic-segmentation",
    "job-results",
]

CLASS_FILTER_CONFIGS = [
    '{"classes":["person","car"],"min_confidence":0.5}',
    '{"classes":["person"],"min_confidence":0.9}',
    '{"classes":["vehicle","forklift-present"]}',
    "{}",
    # Beyond the brief's four: masks kept, number formatting, refused configs.
    '{"classes":["person"],"remove_orphaned_masks":false}',
    '{"classes":["truck"],"min_confidence":1e-7}',
    '{"classes":["nothing"],"min_confidence":1}',
    '{"min_confidence":2}',
    '{"min_confidence":-0.25}',
    '{"class":["person"]}',
    '{"classes":"person"}',
]

# The cooldown's cases: (config, metadata, repeat). Repeating sends the same event to
# the same instance again: the second is held back.
COOLDOWN_CASES = [
    ("{}", ["camera=dock-3"], 1),
    ("{}", ["camera=dock-3"], 2),
    ('{"seconds":30,"key":["metadata.camera"]}', ["camera=dock-3"], 2),
    ('{"seconds":2.5,"key":["field.camera","class"],"classes":["person"],"min_confidence":0.5}', [], 1),
    ('{"seconds":2.5,"key":["field.camera","class"],"classes":["person"],"min_confidence":0.5}', [], 2),
    ('{"key":["route","task","class"],"classes":["truck"]}', [], 1),
    ('{"key":["route","task"],"classes":["truck"]}', [], 1),
    ('{"key":["route","task"],"classes":["truck"]}', [], 2),
    ('{"seconds":10,"key":["metadata.camera"],"new_objects":"set"}', ["camera=dock-3"], 1),
    ('{"seconds":10,"key":["metadata.camera"],"new_objects":"set"}', ["camera=dock-3"], 2),
    ('{"seconds":10,"key":["metadata.camera","class"],"new_objects":"count"}', ["camera=dock-3"], 2),
    ('{"key":["field.image","field.timestamp","class"]}', [], 1),
    ('{"seconds":0}', [], 1),
    ('{"key":[]}', [], 1),
    ('{"key":["camera"]}', [], 1),
    ('{"new_objects":"colour"}', [], 1),
]


def attachments(fixture):
    args = ["--attachment", "image.jpeg=" + os.path.join(FIXTURES, "image.jpeg")]
    prefix = fixture + ".mask_"
    for name in sorted(os.listdir(FIXTURES)):
        if name.startswith(prefix):
            args += ["--attachment", name[len(fixture) + 1 :] + "=" + os.path.join(FIXTURES, name)]
    return args


def run(weir, plugin, fixture, config, metadata=(), repeat=1):
    command = [weir, "filter", "--json", "--plugin", plugin, "--event", os.path.join(FIXTURES, fixture + ".json")]
    command += ["--config", config, "--repeat", str(repeat)] + attachments(fixture)
    for entry in metadata:
        command += ["--metadata", entry]
    # From the fixtures folder: `weir filter` takes a folder named like the example
    # (plugins/rust/class-filter) for a path, and fails on it.
    done = subprocess.run(command, capture_output=True, text=True, cwd=FIXTURES)
    if done.returncode != 0 or not done.stdout.strip():
        # A refused config: the message, after the plugin's name (which differs).
        message = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return {"exit": done.returncode, "message": message.partition("failed to initialise: ")[2] or message}
    out = json.loads(done.stdout)
    return {"verdict": out["verdict"], "reason": out.get("reason"), "error": out.get("error"), "event": out.get("event")}


def cases(suite):
    if suite == "class-filter":
        for fixture in FIXTURE_NAMES:
            for config in CLASS_FILTER_CONFIGS:
                yield fixture, config, [], 1
    elif suite == "cooldown":
        for fixture in ("object-detection", "instance-segmentation", "job-results"):
            for config, metadata, repeat in COOLDOWN_CASES:
                yield fixture, config, metadata, repeat
    else:
        raise SystemExit(f"unknown suite {suite!r}: class-filter or cooldown")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weir", default=os.environ.get("WEIR", "weir"), help="the weir binary (default: $WEIR, or weir on PATH)")
    parser.add_argument("reference", help="the built-in example to compare with: class-filter or cooldown")
    parser.add_argument("candidates", nargs="+", help="the .wasm filters to compare")
    args = parser.parse_args()
    passed = failed = 0
    args.candidates = [os.path.abspath(c) for c in args.candidates]
    for fixture, config, metadata, repeat in cases(args.reference):
        expected = run(args.weir, args.reference, fixture, config, metadata, repeat)
        for candidate in args.candidates:
            got = run(args.weir, candidate, fixture, config, metadata, repeat)
            same = got == expected
            # Configs serde refuses: the Rust message ends with serde's position in the
            # JSON text, which the other languages' readers do not give. Both must refuse
            # with an `invalid config:` message; the wording may differ (shown).
            loose = (
                not same
                and "invalid config:" in expected.get("message", "")
                and "invalid config:" in got.get("message", "")
                and expected.get("exit") == got.get("exit")
            )
            what = expected.get("verdict") or f"refused: {expected.get('message')}"
            if expected.get("reason"):
                what += f" ({expected['reason']})"
            label = f"{fixture} {config}" + (f" {' '.join(metadata)}" if metadata else "") + (f" x{repeat}" if repeat > 1 else "")
            print(f"{'ok  ' if same else 'ok~ ' if loose else 'FAIL'} {os.path.basename(candidate)}: {label}: {what}")
            if loose:
                print(f"     wording: {got['message']}")
            if same or loose:
                passed += 1
            else:
                failed += 1
                print(f"     expected {json.dumps(expected)[:2000]}")
                print(f"     got      {json.dumps(got)[:2000]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
