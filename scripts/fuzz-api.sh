#!/usr/bin/env bash
# Fuzzes a seeded, running flint with schemathesis (from PyPI), driven by its
# own OpenAPI document: once anonymously and once signed in as an admin. The
# checks: no server error (5xx) and every response matches the document.
# Prints schemathesis's summary; fails when either run finds anything.
#
#   scripts/fuzz-api.sh [path/to/flint] [sqlite|postgres]
#
# postgres needs FLINT_TEST_DATABASE_URL (a server where it may create a
# database); FUZZ_EXAMPLES (default 30) bounds the cases per operation,
# FUZZ_SEED (default 27) picks them, FUZZ_CHECKS overrides the checks.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/serve.sh
source scripts/lib/serve.sh
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/flint}"
backend="${2:-sqlite}"
examples="${FUZZ_EXAMPLES:-30}"
[ -x "$bin" ] || { echo "fuzz-api: no flint binary at $bin (run cargo build first)" >&2; exit 1; }

if ! command -v st >/dev/null 2>&1 || ! st --version 2>/dev/null | grep -q 'version 4\.'; then
  echo "fuzz-api: installing schemathesis" >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'schemathesis>=4.3,<5' >&2
fi

work=$(mktemp -d)
server=""
pg_name=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$pg_name" ] && psql "$FLINT_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $pg_name WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$work/fuzz.db" ;;
  postgres)
    : "${FLINT_TEST_DATABASE_URL:?fuzz-api: postgres needs FLINT_TEST_DATABASE_URL}"
    pg_name="flint_fuzz_$$_$RANDOM"
    psql "$FLINT_TEST_DATABASE_URL" -qc "CREATE DATABASE $pg_name" >/dev/null
    export DATABASE_URL="${FLINT_TEST_DATABASE_URL%/*}/$pg_name"
    ;;
  *) echo "fuzz-api: backend must be sqlite or postgres" >&2; exit 2 ;;
esac

port=$(free_port)
base="http://127.0.0.1:$port"
password="fuzzing admin password"
export FLINT_LISTEN="127.0.0.1:$port" FLINT_BASE_URL="$base" FLINT_LOG=error FLINT_WORKFLOW_WORKERS=1

"$bin" seed --posts 30 >/dev/null
echo "$password" | "$bin" user create --email admin@example.com --name Admin --admin >/dev/null
serve_flint "$bin" "$work/serve.log"

cookie=$(curl -fsS -D - -o /dev/null -H 'content-type: application/json' \
  -d "{\"email\": \"admin@example.com\", \"password\": \"$password\"}" "$base/api/auth/sign-in/email" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\);.*/\1/p' | head -n 1)
[ -n "$cookie" ] || { echo "fuzz-api: could not sign in as the admin" >&2; exit 1; }

# One schemathesis worker: with two threads, CPython 3.11's ast module (which
# hypothesis uses to describe strategies) can fail with "AST constructor
# recursion depth mismatch", an error of the tool, not of flint.
run() {
  local who="$1"; shift
  echo "== schemathesis on $backend, $who =="
  st run "$base/api/openapi.json" \
    --checks "${FUZZ_CHECKS:-not_a_server_error,response_schema_conformance,positive_data_acceptance}" \
    --max-examples "$examples" --seed "${FUZZ_SEED:-27}" --no-color --workers 1 --request-timeout 30 \
    --exclude-path /api/auth/sign-out --exclude-operation-id revokeSession --exclude-path /api/auth/change-password \
    "$@"
}
# Uploads take any bytes the document can only call "binary": most are not
# images, and a 415 is the right answer, so they are fuzzed for server errors
# and documented responses only.
uploads=(--include-operation-id uploadImage --include-operation-id uploadSiteAsset)
status=0
# testEmailConnection and testWebhook connect to whatever host the request
# names, at once: fuzzing them would only time connections to random places.
skip=(--exclude-operation-id uploadImage --exclude-operation-id uploadSiteAsset
      --exclude-operation-id testEmailConnection --exclude-operation-id testWebhook)
run anonymously "${skip[@]}" || status=1
run "as an admin" -H "Cookie: $cookie" "${skip[@]}" || status=1
FUZZ_CHECKS="not_a_server_error,response_schema_conformance" run "uploads, as an admin" -H "Cookie: $cookie" "${uploads[@]}" || status=1
if grep -q "internal error" "$work/serve.log"; then
  echo "fuzz-api: the server logged internal errors:" >&2
  grep "internal error" "$work/serve.log" | head -n 20 >&2
  status=1
fi
exit $status
