#!/usr/bin/env bash
# The runner's figure of merit (#23): a full default `mcp-harness run` on each
# third-party server of the suite, with its profile, timed, and its verdict
# table written out, so two builds can be compared case by case.
#
#   ci/bench-runner.sh [HARNESS...]     # default: target/debug/mcp-harness
#   ci/bench-runner.sh /tmp/before/mcp-harness target/debug/mcp-harness
#
# Each HARNESS binary runs the three targets one after the other (side by
# side in one run); tables go to $OUT (default target/bench-runner/), one
# file per binary and target: `case status failing-checks...`. With two
# binaries, the verdicts that differ are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-target/bench-runner}"
mkdir -p "$out"
[ $# -gt 0 ] || set -- target/debug/mcp-harness
python=.venv/bin/python
[ -x "$python" ] || { echo "no .venv (hint: run ci/test.sh once, it installs the Python SDK)" >&2; exit 2; }
[ -d fixtures/typescript_sdk/node_modules ] || { echo "no fixtures/typescript_sdk/node_modules (hint: run ci/test.sh once)" >&2; exit 2; }

targets=(
    "python-sdk|$python fixtures/python_sdk/server.py --port {port}|fixtures/profiles/python-sdk.toml"
    "python-sdk-event-store|$python fixtures/python_sdk/server.py --event-store --port {port}|fixtures/profiles/python-sdk-event-store.toml"
    "typescript-sdk|node fixtures/typescript_sdk/server.mjs --port {port}|fixtures/profiles/typescript-sdk.toml"
)

n=0
for harness in "$@"; do
    n=$((n + 1))
    for entry in "${targets[@]}"; do
        IFS='|' read -r name command profile <<<"$entry"
        report="$out/$n-$name.json"
        start=$(date +%s.%N)
        set +e
        "$harness" run --server-cmd "$command" --profile "$profile" --format json >"$report" 2>"$out/$n-$name.stderr"
        rc=$?
        set -e
        end=$(date +%s.%N)
        python3 - "$report" "$out/$n-$name.table" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
failed = set(report["summary"]["failed_cases"])
lost = set(report["summary"].get("lost_cases", []))
unexercised = set(report["summary"].get("not_exercised_cases", []))
rows = []
for case in report["cases"]:
    name = f'{case["scenario"]}@{case["version"]}'
    if case.get("skipped"):
        status = "SKIP"
    elif name in failed:
        status = "FAIL"
    elif name in lost:
        status = "LOST"
    elif name in unexercised:
        status = "UNEXERCISED"
    else:
        status = "PASS"
    bad = sorted(
        f'{v["check"]}:{(v["outcome"] if isinstance(v["outcome"], str) else v["outcome"]["outcome"])}'
        for v in case["verdicts"]
        if (v["outcome"] if isinstance(v["outcome"], str) else v["outcome"].get("outcome")) in ("fail", "warn")
    )
    resilience = case.get("resilience", {}).get("outcome", "-")
    rows.append(f"{name} {status} resilience={resilience} {' '.join(bad)}".rstrip())
open(sys.argv[2], "w").write("\n".join(sorted(rows)) + "\n")
EOF
        printf '%-12s %-24s %7.1f s  exit %s  %s\n' "run $n" "$name" "$(echo "$end - $start" | bc)" "$rc" \
            "$(tail -n 1 "$out/$n-$name.stderr" 2>/dev/null | cut -c1-120)"
    done
done

if [ $# -ge 2 ]; then
    echo
    echo "== verdicts that differ between run 1 ($1) and run 2 ($2)"
    for entry in "${targets[@]}"; do
        IFS='|' read -r name _ _ <<<"$entry"
        if ! diff -u "$out/1-$name.table" "$out/2-$name.table" >"$out/$name.diff"; then
            echo "-- $name"
            grep '^[-+][^-+]' "$out/$name.diff" || true
        fi
    done
fi
