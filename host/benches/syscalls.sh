#!/usr/bin/env bash
# System calls and context switches per event of `weir bench`'s subject, counted by
# `perf stat` on the subject process (Weir, or the relay) for five seconds in the middle
# of a scenario's measurement: whether Weir asks the kernel for more than the relay does
# for the same work, which `weir bench`'s CPU seconds alone cannot say.
#
#   host/benches/syscalls.sh [BINARY] [SCENARIO]
#
# BINARY defaults to target/release/weir, SCENARIO to filters-0 (`weir bench --list`).
# Prints each count divided by the events the subject handled in the window (the
# scenario's sustained events/s times five seconds).
#
# Needs perf and the kernel's tracepoints: run as root; where /sys/kernel/tracing is
# empty, `mount -t tracefs nodev /sys/kernel/tracing` first.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "${1:-$root/target/release/weir}")
scenario=${2:-filters-0}
work=$(mktemp -d -t weir-syscalls.XXXXXX)
"$bin" bench --scenario "$scenario" --duration 10s --json "$work/bench.json" > "$work/bench.txt" 2>&1 &
bench=$!
# The subject is `weir bench`'s only child; measure once it has been loaded a while.
for _ in $(seq 100); do
    pgrep -P "$bench" > /dev/null && break
    sleep 0.1
done
sleep 3.5
subject=$(pgrep -P "$bench" | paste -sd,)
events=raw_syscalls:sys_enter,context-switches,task-clock
for call in futex epoll_wait read write writev recvfrom sendto epoll_ctl mmap munmap madvise pwrite64 fdatasync; do
    events+=",syscalls:sys_enter_$call"
done
perf stat -x, -e "$events" -p "$subject" -o "$work/perf.csv" -- sleep 5
wait "$bench"
python3 - "$work/bench.json" "$work/perf.csv" <<'PY'
import json, sys
outcome = json.load(open(sys.argv[1]))[0]
sustained = outcome["events_per_s"]
if outcome["deliveries_per_s"]:
    sustained = min(sustained, outcome["deliveries_per_s"] / max(outcome["fanout"], 1))
events = sustained * 5
print(f"{outcome['scenario']}: {sustained:.0f} events/s sustained; per event in a 5 s window:")
for line in open(sys.argv[2]):
    fields = line.strip().split(",")
    if len(fields) < 3 or not fields[0].replace(".", "").isdigit():
        continue
    name = fields[2] + (" (ms)" if fields[2] == "task-clock" else "")
    print(f"  {name:36s} {float(fields[0]) / events:8.3f}")
PY
