#!/usr/bin/env bash
# The run step of ci/action/action.yml, also runnable by hand: reads the
# action's inputs from INPUT_* variables, runs `mcp-harness run`, writes the
# step outputs to $GITHUB_OUTPUT (report paths and counts) and exits with the
# harness's exit code.
set -uo pipefail
# The binary the action built, unless told otherwise.
bin="${MCP_HARNESS_BIN:-$HOME/.mcp-harness/bin/mcp-harness}"
out="${INPUT_OUT:-mcp-harness-report}"
args=(run --out "$out" --format human)
[ -n "${INPUT_SERVER_CMD:-}" ] && args+=(--server-cmd "$INPUT_SERVER_CMD")
[ -n "${INPUT_SERVER_URL:-}" ] && args+=(--server-url "$INPUT_SERVER_URL")
[ -n "${INPUT_PROFILE:-}" ] && args+=(--profile "$INPUT_PROFILE")
[ -n "${INPUT_EXPECTED_FAILURES:-}" ] && args+=(--expected-failures "$INPUT_EXPECTED_FAILURES")
if [ -n "${INPUT_ARGS:-}" ]; then
    # Split like a shell would, quotes included.
    eval "extra=($INPUT_ARGS)"
    args+=("${extra[@]}")
fi
"$bin" "${args[@]}"
code=$?
github_output="${GITHUB_OUTPUT:-/dev/null}"
{
    echo "out=$out"
    echo "report-json=$out/report.json"
    echo "junit=$out/junit.xml"
    echo "exit-code=$code"
} >> "$github_output"
if [ -f "$out/report.json" ]; then
    python3 - "$out/report.json" >> "$github_output" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))["summary"]
print(f"cases={summary['cases']}")
print(f"failed={len(summary['failed_cases'])}")
print(f"skipped={len(summary['skipped_cases'])}")
print(f"lost={len(summary['lost_cases'])}")
PY
fi
exit $code
