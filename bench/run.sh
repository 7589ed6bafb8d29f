#!/usr/bin/env bash
# flint's load benchmark against a baseline measured in the same run.
#
#   bench/run.sh [--posts N] [--duration SECONDS] [--rounds N] [--backend sqlite|postgres] [--db-from FILE] [--pages-only]
#
# Builds flint (release) and the baseline (bench/baseline: the same response
# bytes served from memory by a minimal axum server), seeds a fresh database,
# starts both on loopback, captures flint's responses as the baseline's
# bodies, then drives each endpoint with wrk at 1, 16 and 64 connections,
# and the public pages (the home page, a post page) on one fixed path with
# `wrk -t1 -c16` (--pages-only: those alone).
# Prints a Markdown table (req/s, p50, p99, flint/baseline) and writes it,
# with the machine, commit and command, to bench/results/<backend>-<posts>.md;
# bench/RESULTS.md gathers every such file.
set -euo pipefail
cd "$(dirname "$0")/.."

posts=1000
duration=3
rounds=3
db_from=""
backend=sqlite
pages_only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --posts) posts=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --db-from) db_from=$2; shift 2 ;;
    --backend) backend=$2; shift 2 ;;
    --pages-only) pages_only=1; shift ;;
    *) echo "usage: bench/run.sh [--posts N] [--duration SECONDS] [--rounds N] [--backend sqlite|postgres] [--db-from FILE] [--pages-only]" >&2; exit 2 ;;
  esac
done
command="bench/run.sh --posts $posts --duration $duration --rounds $rounds --backend $backend${db_from:+ --db-from $db_from}${pages_only:+ --pages-only}"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flint-target}"
command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk; }
echo "building (release)..." >&2
cargo build --release --quiet
cargo build --release --quiet --manifest-path bench/baseline/Cargo.toml
flint="$CARGO_TARGET_DIR/release/flint"
baseline="$CARGO_TARGET_DIR/release/flint-bench-baseline"

work=$(mktemp -d)
pids=()
pg_db=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pg_db" ]; then psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
uport=$(free_port)
bport=$(free_port)
base="http://127.0.0.1:$port"
export FLINT_LISTEN="127.0.0.1:$port" FLINT_BASE_URL="$base" FLINT_LOG=warn
case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$work/bench.db" ;;
  postgres)
    eval "$(scripts/test-services.sh)"
    pg_db="flint_bench_$$"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $pg_db" >/dev/null
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pg_db" REDIS_URL="$FLINT_TEST_REDIS_URL" FLINT_REDIS_PREFIX="flint-bench-$$:" ;;
  *) echo "unknown backend $backend" >&2; exit 2 ;;
esac

if [ -n "$db_from" ]; then
  # A database seeded earlier (`flint seed --posts N` into a SQLite file): copied, so runs start alike.
  [ "$backend" = sqlite ] || { echo "--db-from is for SQLite" >&2; exit 2; }
  echo "copying $db_from..." >&2
  cp "$db_from" "$work/bench.db"
else
  echo "seeding $posts posts..." >&2
  "$flint" seed --posts "$posts" >/dev/null
fi

started=$(date +%s%N)
"$flint" serve >"$work/flint.log" 2>&1 &
flint_pid=$!
pids+=("$flint_pid")
until curl -fsS "$base/healthz" >/dev/null 2>&1; do
  kill -0 "$flint_pid" 2>/dev/null || { cat "$work/flint.log" >&2; exit 1; }
  sleep 0.01
done
ready_ms=$(( ($(date +%s%N) - started) / 1000000 ))

# A second flint on the same database with the cache off, for uncached reads.
FLINT_LISTEN="127.0.0.1:$uport" FLINT_CACHE=off FLINT_WORKFLOW_WORKERS=0 "$flint" serve >"$work/flint-uncached.log" 2>&1 &
pids+=("$!")
until curl -fsS "http://127.0.0.1:$uport/healthz" >/dev/null 2>&1; do sleep 0.01; done

# A signed-in reader for getSession (over the rate limit's 5 sign-ups a minute we never go).
curl -fsS -c "$work/jar" -H 'content-type: application/json' \
  -d '{"name":"Bench","email":"bench@example.com","password":"bench password"}' "$base/api/auth/sign-up/email" >/dev/null
cookie=$(awk '/flint_session/ {print "flint_session=" $7}' "$work/jar")

# Many slugs for the detail endpoint, and a search term of each language.
curl -fsS "$base/sitemap.xml" -o "$work/sitemap.xml"
# Past 50,000 URLs the sitemap is an index of parts: read the first part.
if grep -q '<sitemapindex' "$work/sitemap.xml"; then curl -fsS "$base/sitemap/1.xml" -o "$work/sitemap.xml"; fi
grep -o '<loc>[^<]*/post/[^<]*</loc>' "$work/sitemap.xml" | sed -e 's#<loc>[^/]*//[^/]*##' -e 's#</loc>##' -e 's#^/post/#/api/post/#' | awk 'NR <= 200' >"$work/detail-paths"
endpoints=(
  "detail (cached)|$work/detail-paths"
  "detail (uncached)|$work/detail-paths"
  "list first page|/api/posts?limit=12"
  "list deep cursor|DEEP"
  "tags|/api/tags"
  "search (en)|/api/search?q=cache"
  "search (zh)|/api/search?q=%E6%80%A7%E8%83%BD"
  "search (en, uncached)|/api/search?q=cache"
  "rss|/rss.xml"
  "sitemap|/sitemap.xml"
  "getSession (cookie)|/_fn/getSession"
)
deep_cursor=$(curl -fsS "$base/api/posts?limit=50" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][-1]["id"])')
# The public pages: the home page and one post's page (its HTML, ready).
post_page=$(head -n 1 "$work/detail-paths" | sed 's#^/api/post/#/post/#')
pages=(
  "home page (cached)|/"
  "post page (cached)|$post_page"
  "post page (uncached)|$post_page"
)
[ -n "$pages_only" ] && endpoints=()

# Capture flint's bodies for the baseline (the same bytes, from memory).
: >"$work/routes.tsv"
n=0
capture() {  # path [cookie]
  cut -f1 "$work/routes.tsv" | grep -qxF -- "$1" && return 0  # one route per path
  n=$((n + 1))
  local file="$work/body-$n" type
  type=$(curl -fsS -H "Cookie: ${2:-}" -o "$file" -w '%{content_type}' "$base$1")
  printf '%s\t%s\t%s\n' "$1" "$file" "${type:-application/json}" >>"$work/routes.tsv"
}
[ -z "$pages_only" ] && while read -r path; do capture "$path"; done <"$work/detail-paths"
capture /
capture "$post_page"
for entry in "${endpoints[@]:2}"; do
  path=${entry#*|}
  [ "$path" = DEEP ] && path="/api/posts?limit=12&cursor=$deep_cursor"
  if [ "$path" = /_fn/getSession ]; then capture "$path" "$cookie"; else capture "$path"; fi
done
"$baseline" "127.0.0.1:$bport" "$work/routes.tsv" &
pids+=("$!")
until curl -fsS -o /dev/null "http://127.0.0.1:$bport/" 2>/dev/null; do sleep 0.01; done

# wrk -> "req/s p50_ms p99_ms"
measure() {  # url-base path-or-file connections [cookie] [seconds] [threads]
  local target=$2 threads=${6:-$(( $3 < 2 ? $3 : 2 ))}
  local args=(-t"$threads" -c"$3" -d"${5:-$duration}s" --latency)
  [ -n "${4:-}" ] && args+=(-H "Cookie: $4")
  if [ -f "$target" ]; then
    WRK_PATHS="$target" wrk "${args[@]}" -s bench/paths.lua "$1/" 2>/dev/null
  else
    wrk "${args[@]}" "$1$target" 2>/dev/null
  fi | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}

# Warm-up, then flint and the baseline back to back, $rounds times: the
# machine drifts by ±15% within seconds, so each round's pair gives a ratio
# and the median round is reported.
#   compare flint-url path connections cookie threads
#   -> "flint_rps p50 p99 baseline_rps ratio" of the round with the median ratio
compare() {
  local samples=() f_rps f_p50 f_p99 b_rps b_p50 b_p99
  measure "$1" "$2" "$3" "$4" 1 "$5" >/dev/null
  measure "http://127.0.0.1:$bport" "$2" "$3" "$4" 1 "$5" >/dev/null
  for _ in $(seq "$rounds"); do
    read -r f_rps f_p50 f_p99 < <(measure "$1" "$2" "$3" "$4" "" "$5")
    read -r b_rps b_p50 b_p99 < <(measure "http://127.0.0.1:$bport" "$2" "$3" "$4" "" "$5")
    samples+=("$f_rps $f_p50 $f_p99 $b_rps")
  done
  printf '%s\n' "${samples[@]}" | python3 -c '
import sys
rounds = [l.split() for l in sys.stdin if l.strip()]
rounds.sort(key=lambda r: float(r[0]) / max(float(r[3]), 1))
f, p50, p99, b = rounds[len(rounds) // 2]
print(f, p50, p99, b, f"{float(f) / max(float(b), 1):.2f}")'
}

rows=()
for entry in "${endpoints[@]}"; do
  name=${entry%%|*}
  path=${entry#*|}
  [ "$path" = DEEP ] && path="/api/posts?limit=12&cursor=$deep_cursor"
  auth=""
  [ "$path" = /_fn/getSession ] && auth=$cookie
  target=$base
  case "$name" in *uncached*) target="http://127.0.0.1:$uport" ;; esac
  for c in 1 16 64; do
    read -r f_rps f_p50 f_p99 b_rps ratio < <(compare "$target" "$path" "$c" "$auth" "")
    rows+=("| $name | $c | $f_rps | $f_p50 | $f_p99 | $b_rps | $ratio |")
    echo "$name c$c: flint $f_rps req/s (p99 $f_p99 ms), baseline $b_rps req/s, ratio $ratio (median of $rounds)" >&2
  done
done
# The pages: one fixed path, one wrk thread, 16 connections (wrk's random
# path script would saturate wrk itself and pull every ratio toward 1).
for entry in "${pages[@]}"; do
  name=${entry%%|*}
  path=${entry#*|}
  target=$base
  case "$name" in *uncached*) target="http://127.0.0.1:$uport" ;; esac
  read -r f_rps f_p50 f_p99 b_rps ratio < <(compare "$target" "$path" 16 "" 1)
  rows+=("| $name | 16 (wrk -t1) | $f_rps | $f_p50 | $f_p99 | $b_rps | $ratio |")
  echo "$name c16 -t1: flint $f_rps req/s (p99 $f_p99 ms), baseline $b_rps req/s, ratio $ratio (median of $rounds)" >&2
done
peak_rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$flint_pid/status")

mkdir -p bench/results
{
  echo "## $backend, $posts posts"
  echo
  echo "Command: \`$command\`  "
  echo "Commit: $(git rev-parse --short HEAD)  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -srm); flint, the baseline and wrk share it.  "
  echo "Ready to serve $ready_ms ms after start. Peak RSS $((peak_rss_kb / 1024)) MiB (the cached instance, after every run above).  "
  echo "Each row is the round with the median flint/baseline ratio of $rounds rounds of $duration s (flint, then the baseline)."
  echo
  echo "| endpoint | connections | flint req/s | p50 ms | p99 ms | baseline req/s | flint/baseline |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} | tee "bench/results/$backend-$posts${pages_only:+-pages}.md"

# bench/RESULTS.md: every kept run, SQLite first, by size.
{
  echo "# flint benchmark results"
  echo
  echo "Written by \`bench/run.sh\` (one section per backend and size; see bench/README.md)."
  for file in $(ls bench/results/*-[0-9]*.md | sort -t- -k1,1r -k2,2n); do
    echo
    cat "$file"
  done
  # How single-connection latency grows with the number of posts, per backend:
  # p50 at c1 of the largest run against the smallest.
  python3 - bench/results/*-[0-9]*.md <<'PY'
import re, sys
runs = {}
for path in sys.argv[1:]:
    m = re.search(r"(\w+)-(\d+)\.md$", path)
    if not m:
        continue
    rows = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[1] == "1":
            rows[cells[0]] = float(cells[3])
    runs.setdefault(m.group(1), {})[int(m.group(2))] = rows
for backend, sizes in sorted(runs.items(), reverse=True):
    if len(sizes) < 2:
        continue
    small, large = min(sizes), max(sizes)
    print(f"\n## Latency growth, {backend}: p50 at 1 connection, {small:,} -> {large:,} posts\n")
    print(f"| endpoint | {small:,} posts ms | {large:,} posts ms | growth |")
    print("|---|---:|---:|---:|")
    for name in ["detail (cached)", "detail (uncached)", "list first page", "list deep cursor", "search (en)", "search (zh)", "search (en, uncached)"]:
        a, b = sizes[small].get(name), sizes[large].get(name)
        if a and b:
            print(f"| {name} | {a:.2f} | {b:.2f} | {100 * (b - a) / a:+.0f}% |")
PY
} >bench/RESULTS.md
