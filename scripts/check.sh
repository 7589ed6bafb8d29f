#!/usr/bin/env bash
# The pre-commit gate: formatting, lints and the whole test suite (with the
# PostgreSQL and Redis variants when the local servers are reachable).
# Exits non-zero on the first failure: `scripts/check.sh && git commit ...`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flint-target}"
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
if services=$(scripts/test-services.sh 2>/dev/null); then
  eval "$services"
fi
# pipefail: the pipeline fails when cargo test does; the filter only shortens the output.
cargo test --quiet 2>&1 | { grep -E "^test result|FAILED|panicked" || true; }
