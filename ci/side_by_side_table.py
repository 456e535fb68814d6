"""The table of ci/side-by-side-2026.sh: each required official scenario's result
on each server (from the suite's -o folders), then this harness's cases on each
(from `run --format json`).

    python3 ci/side_by_side_table.py WORKDIR SERVER...
"""

import glob
import json
import os
import sys


def required_scenarios(work):
    """The server scenarios 2026-07-28 requires, from the installed suite's file."""
    path = os.path.join(
        work,
        "node_modules/@modelcontextprotocol/conformance/requirements/2026-07-28.yaml",
    )
    names, section = [], None
    for line in open(path):
        if not line.startswith(" ") and line.rstrip().endswith(":"):
            section = line.strip().rstrip(":")
            continue
        item = line.strip()
        if section == "server" and item.startswith("- "):
            names.append(item[2:].strip())
    return names


def official(work, server, scenario):
    """`pass`, `FAIL (n of m): first reason`, or `not run`."""
    found = glob.glob(os.path.join(work, f"official-{server}", f"server-{scenario}-*", "checks.json"))
    if not found:
        return "not run"
    checks = json.load(open(sorted(found)[-1]))
    failed = [c for c in checks if c.get("status") == "FAILURE"]
    if not failed:
        return "pass"
    reason = (failed[0].get("errorMessage") or failed[0].get("description") or "").replace("|", "/")
    return f"FAIL ({len(failed)} of {len(checks)}): {reason[:70]}"


def ours(work, server):
    report = json.load(open(os.path.join(work, f"ours-{server}.json")))
    cases = report["cases"]
    skipped = sum(1 for c in cases if c.get("skipped"))
    failed = len(report["summary"]["failed_cases"])
    applied = set()
    for case in cases:
        if case.get("skipped"):
            continue
        for verdict in case["verdicts"]:
            outcome = verdict["outcome"]
            outcome = outcome.get("outcome") if isinstance(outcome, dict) else outcome
            if outcome not in ("skipped", "not_observed", "not observed"):
                applied.add(verdict["check"])
    return (
        f"{len(cases)} cases: {len(cases) - skipped - failed} passed, {failed} failed, "
        f"{skipped} skipped; {len(applied)} checks judged something"
    )


def main():
    work, servers = sys.argv[1], sys.argv[2:]
    scenarios = required_scenarios(work)
    print(f"\n== official suite, the {len(scenarios)} server scenarios 2026-07-28 requires")
    print("| scenario | " + " | ".join(servers) + " |")
    print("|---|" + "---|" * len(servers))
    passed = {s: 0 for s in servers}
    for scenario in scenarios:
        row = []
        for server in servers:
            result = official(work, server, scenario)
            passed[server] += result == "pass"
            row.append(result)
        print(f"| {scenario} | " + " | ".join(row) + " |")
    print("| passed | " + " | ".join(f"{passed[s]} of {len(scenarios)}" for s in servers) + " |")
    print("\n== mcp-harness run --version 2026-07-28")
    for server in servers:
        print(f"{server}: {ours(work, server)}")


if __name__ == "__main__":
    main()
