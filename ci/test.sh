#!/usr/bin/env bash
# The whole test suite, from a fresh clone: every set-up step is here.
# Usage: ci/test.sh [extra arguments for the test runner]
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust toolchain and cargo-nextest come with the machine; everything else the
# suite needs is installed below.
cargo --version

# The third-party MCP server of the suite (fixtures/python_sdk) runs on the official
# Python SDK, installed into .venv.
if ! .venv/bin/python -c "import mcp.server.fastmcp" >/dev/null 2>&1; then
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "mcp==1.30.0"
fi

# The other one (fixtures/typescript_sdk) runs on the official TypeScript SDK, at the
# versions pinned in its package-lock.json, installed into its node_modules.
if [ ! -d fixtures/typescript_sdk/node_modules/@modelcontextprotocol/sdk ]; then
    npm ci --prefix fixtures/typescript_sdk --no-audit --no-fund --silent
fi

# Third-party stdio servers from npm (fixtures/npm_stdio: the reference servers' filesystem and
# "everything" servers), at the versions pinned in its package-lock.json.
if [ ! -d fixtures/npm_stdio/node_modules/@modelcontextprotocol/server-filesystem ] \
    || [ ! -d fixtures/npm_stdio/node_modules/@modelcontextprotocol/server-everything ]; then
    npm ci --prefix fixtures/npm_stdio --no-audit --no-fund --silent
fi

# The HTML report is checked in a real browser (harness/runner/tests/report_browser.rs):
# Debian's chromium, driven headless by playwright-core (pinned in ci/browser/package-lock.json).
if [ ! -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }
fi
if [ ! -d ci/browser/node_modules/playwright-core ]; then
    npm ci --prefix ci/browser --no-audit --no-fund --silent
fi

# A CI machine builds from clean: incremental compilation only writes caches
# nobody reads there.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi

# Formatting and lints first: a style slip fails in seconds, not after the tests.
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

cargo build --workspace --all-targets --locked

if cargo nextest --version >/dev/null 2>&1; then
    profile=default
    if [ "${CI:-}" = "true" ]; then profile=ci; fi
    cargo nextest run --workspace --lib --bins --tests --locked --profile "$profile" "$@"
else
    echo "cargo-nextest not found: falling back to cargo test" >&2
    cargo test --workspace --lib --bins --tests --locked "$@"
fi
