#!/usr/bin/env bash
# Validates the site documents of a running flint with external tools:
# /sitemap.xml against the Sitemap 0.9 schema (xmllint, from Debian's
# libxml2-utils) and /rss.xml with Python's feedparser (from PyPI). Seeds a
# fresh SQLite database, serves it on a free loopback port, checks, stops.
#
#   scripts/validate-site-documents.sh [path/to/flint]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/serve.sh
source scripts/lib/serve.sh
bin="${1:-${CARGO_TARGET_DIR:-target}/debug/flint}"
[ -x "$bin" ] || { echo "validate-site-documents: no flint binary at $bin (run cargo build first)" >&2; exit 1; }

if ! command -v xmllint >/dev/null 2>&1; then
  echo "validate-site-documents: installing xmllint (libxml2-utils)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq libxml2-utils >&2
fi
if ! python3 -c "import feedparser" >/dev/null 2>&1; then
  echo "validate-site-documents: installing feedparser" >&2
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore feedparser >&2
fi

work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
base="http://127.0.0.1:$port"
export DATABASE_URL="sqlite://$work/site.db" FLINT_LISTEN="127.0.0.1:$port" FLINT_BASE_URL="$base" FLINT_LOG=warn FLINT_SITE_TITLE="flint CI"

"$bin" seed --posts 60 >/dev/null
serve_flint "$bin" "$work/serve.log"

curl -fsS "$base/sitemap.xml" -o "$work/sitemap.xml"
xmllint --noout --schema .ci/sitemap.xsd "$work/sitemap.xml"

curl -fsS "$base/rss.xml" -o "$work/rss.xml"
python3 - "$work/rss.xml" "$base" <<'PY'
import sys
import feedparser

feed = feedparser.parse(sys.argv[1])
base = sys.argv[2]
assert not feed.bozo, f"rss.xml is malformed: {feed.bozo_exception!r}"
assert feed.version == "rss20", feed.version
assert feed.feed.title == "flint CI", feed.feed.title
assert len(feed.entries) == 50, f"expected the newest 50 posts, got {len(feed.entries)}"
for entry in feed.entries:
    assert entry.link.startswith(base + "/post/"), entry.link
    assert entry.get("published_parsed"), entry
    assert entry.get("content") and entry.content[0].value.strip(), entry.link
print(f"rss.xml: valid RSS 2.0 with {len(feed.entries)} entries")
PY
echo "site documents: sitemap.xml valid against the Sitemap 0.9 schema; rss.xml parsed by feedparser"
