#!/usr/bin/env bash
# The public site in a real browser: serves a fresh SQLite flint, seeds it,
# validates every kind of page with the Nu Html Checker, checks
# accessibility with axe-core in Chromium, and walks through it as a reader
# (scripts/check-site.mjs says what exactly). The screenshot and the pages
# checked are kept in target/site-check/.
#
#   scripts/check-site.sh [path/to/flint]
#
# Installs what it needs once: Debian's chromium and Java (when missing),
# and npm vnu-jar, playwright-core and axe-core under ~/.cache/flint-node
# (playwright-core drives the system Chromium; it never downloads one).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/serve.sh
source scripts/lib/serve.sh
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/flint}"
[ -x "$bin" ] || { echo "check-site: no flint binary at $bin (run cargo build first)" >&2; exit 1; }

log() { echo "check-site: $*" >&2; }
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq "${missing[@]}" >&2
fi
node_prefix="${FLINT_NODE_PREFIX:-$HOME/.cache/flint-node}"
packages=(vnu-jar@26.9.27 playwright-core@1.65.1 axe-core@4.14.1)
for package in "${packages[@]}"; do
  if [ ! -f "$node_prefix/node_modules/${package%@*}/package.json" ]; then
    log "installing ${packages[*]} with npm"
    mkdir -p "$node_prefix"
    npm install --no-audit --no-fund --prefix "$node_prefix" "${packages[@]}" >&2
    break
  fi
done

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
base="http://127.0.0.1:$port"
email="admin@example.com"
password="site check password"
export DATABASE_URL="sqlite://$work/site.db" STORAGE_URL="file://$work/media" FLINT_LISTEN="127.0.0.1:$port" \
  FLINT_BASE_URL="$base" FLINT_LOG=warn ADMIN_EMAIL="$email"
mkdir -p "$work/media"
printf '%s\n' "$password" | "$bin" user create --admin --email "$email" --name "Admin" >/dev/null
serve_flint "$bin" "$work/serve.log"

out="target/site-check"
rm -rf "$out" && mkdir -p "$out"
cp scripts/check-site.mjs "$node_prefix/flint-check-site.mjs"
if ! node "$node_prefix/flint-check-site.mjs" "$base" "$email" "$password" "$(pwd)/$out" "$node_prefix/node_modules/vnu-jar/build/dist/vnu.jar"; then
  log "the server said:"
  tail -n 40 "$work/serve.log" >&2
  exit 1
fi
