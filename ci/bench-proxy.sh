#!/usr/bin/env bash
# Proxy benchmark: direct vs socat vs the recording proxy, one run, one upstream.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v socat >/dev/null; then
    (apt-get install -y socat || (apt-get update && apt-get install -y socat)) >/dev/null
fi
cargo bench -p mcp-harness-chaos --bench proxy "$@"
