#!/usr/bin/env bash
# Instructions per event, counted by valgrind's callgrind: a figure that does not move
# with the machine's load, for comparing two builds where `weir bench`'s throughput
# spread (tens of percent on a shared two-core machine) would hide a change.
#
#   host/benches/instructions.sh [BINARY] [FILTERS] [EVENTS]
#
# BINARY defaults to target/release/weir; FILTERS is 0 (the route has none) or 3
# (class-filter, strip-masks, reshape: `weir bench`'s filters-3); EVENTS defaults to
# 1000. Starts a receiver (Python) and `weir run` under callgrind with instrumentation
# off, sends 200 events to warm up, then counts the user-space instructions of all of
# Weir's threads while EVENTS events are accepted and delivered, one request at a time
# (tests/fixtures/object-detection.json, as `weir bench` sends). Kernel time (system
# calls, the network stack) is not counted. Prints instructions per event and leaves
# the profile (callgrind_annotate FILE) in a temporary folder.
#
# Needs valgrind and python3. The plugin pool is kept small (three instances):
# valgrind cannot reserve the address space the default pool asks for.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(realpath "${1:-$root/target/release/weir}")
filters=${2:-0}
events=${3:-1000}
work=$(mktemp -d -t weir-instructions.XXXXXX)
payload=$root/tests/fixtures/object-detection.json
read -r sink_port ingest_port admin_port < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

cat > "$work/receiver.py" <<'PY'
import http.server, sys, threading
count, lock = 0, threading.Lock()
class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            count += 1
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
PY
cat > "$work/send.py" <<'PY'
import http.client, sys, time, urllib.request
ingest, events, receiver, payload = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
body = open(payload, "rb").read()
arrived = lambda: int(urllib.request.urlopen(f"http://127.0.0.1:{receiver}/").read())
start = arrived()
connection = http.client.HTTPConnection("127.0.0.1", ingest, timeout=60)
for _ in range(events):
    connection.request("POST", "/ingest/bench", body, {"content-type": "application/json"})
    response = connection.getresponse(); response.read()
    if response.status != 202:
        sys.exit(f"weir answered {response.status}")
deadline = time.time() + 120
while arrived() < start + events:
    if time.time() > deadline:
        sys.exit("the deliveries did not all arrive within 120 s")
    time.sleep(0.2)
PY

if [ "$filters" = 3 ]; then
  chain='[{ plugin = "class-filter", max_instances = 1, config = { classes = ["person"], min_confidence = 0.5 } }, { plugin = "strip-masks", max_instances = 1 }, { plugin = "reshape", max_instances = 1 }]'
else
  chain='[]'
fi
cat > "$work/weir.toml" <<TOML
[server]
listen = "127.0.0.1:$ingest_port"
[admin]
listen = "127.0.0.1:$admin_port"
[storage]
kind = "memory"
[plugins]
max_instances = 3
[routes.bench]
destinations = ["receiver"]
filters = $chain
[destinations.receiver]
url = "http://127.0.0.1:$sink_port/receiver"
allow_private = true
TOML

python3 "$work/receiver.py" "$sink_port" & receiver=$!
cd "$work"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind.out" \
  "$bin" run --config weir.toml > "$work/weir.log" 2>&1 & weir=$!
trap 'kill $weir $receiver 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  grep -q "weir is ready" "$work/weir.log" && break
  kill -0 $weir 2>/dev/null || { cat "$work/weir.log"; exit 1; }
  sleep 0.5
done
python3 "$work/send.py" "$ingest_port" 200 "$sink_port" "$payload"
callgrind_control -i on $weir > /dev/null
python3 "$work/send.py" "$ingest_port" "$events" "$sink_port" "$payload"
callgrind_control -i off $weir > /dev/null
callgrind_control -d $weir > /dev/null
sleep 1
total=$(awk '/^totals:/ {print $2}' "$work/callgrind.out.1")
echo "filters-$filters: $((total / events)) instructions per event ($total over $events events; profile $work/callgrind.out.1)"
