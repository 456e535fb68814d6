#!/usr/bin/env bash
# Benchmark of the HTML report on one long case: a call with N progress
# notifications (default 100,000 records) is rendered by `mcp-harness report`
# (judging included) and opened in headless chromium (ci/browser), printing
# the render time, the page's size and the time to a usable page (load event
# and first diagram drawn), median of 3 opens. Needs what ci/test.sh installs.
# Usage: ci/bench-report.sh [RECORDS]   (PROFILE=release for an optimized build)
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-100000}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 - "$records" "$dir/long__call@2025-11-25.jsonl" <<'PY'
import json, sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    def put(seq, **event):
        f.write(json.dumps({"seq": seq, "at_us": seq * 50, **event}) + "\n")
    put(0, kind="header", format="mcp-harness-transcript", version=1, started_unix_ms=0, target="http://127.0.0.1:1/mcp")
    put(1, kind="request", exchange=1, conn=1, method="POST", path="/mcp",
        headers={"mcp_protocol_version": "2025-11-25", "content_type": "application/json"},
        body={"type": "json", "value": {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
              "params": {"name": "long", "_meta": {"progressToken": "t"}}}})
    put(2, kind="response", exchange=1, status=200, headers={"content_type": "text/event-stream"},
        body={"type": "empty"}, delivery="delivered")
    for seq in range(3, n):
        put(seq, kind="sse", exchange=1, index=seq - 2, id=str(seq - 2), delivery="delivered",
            data={"type": "json", "value": {"jsonrpc": "2.0", "method": "notifications/progress",
                  "params": {"progressToken": "t", "progress": seq, "message": "step %d" % seq}}})
PY
profile="${PROFILE:-debug}"
if [ "$profile" = release ]; then
    cargo build --quiet --release --bin mcp-harness
else
    cargo build --quiet --bin mcp-harness
fi
start=$(date +%s%N)
"./target/$profile/mcp-harness" report "$dir/long__call@2025-11-25.jsonl" --output "$dir/long.html" 2>/dev/null
render_ms=$(( ($(date +%s%N) - start) / 1000000 ))
size=$(stat -c %s "$dir/long.html")
loads=()
for _ in 1 2 3; do
    loads+=("$(node ci/browser/check_report.mjs --load-only "$dir/long.html" | python3 -c 'import json,sys; print(json.load(sys.stdin)["loadMs"])')")
done
median=$(printf '%s\n' "${loads[@]}" | sort -n | sed -n 2p)
echo "records: $records; mcp-harness report ($profile build, judging included): ${render_ms} ms; report.html: $((size / 1024)) KiB; opened in chromium (load + first diagram): ${loads[*]} ms, median ${median} ms"
