#!/usr/bin/env bash
# Compares builds of flint on the same boot, cached reads only.
#
#   bench/ab.sh [--posts N] [--rounds N] [--duration SECONDS] REV [REV...]
#
# Each REV (a commit, a branch, or `.` for the working tree) is built in
# release mode into a target directory of its own under
# ~/.cache/flint-ab/<commit> (reused by later runs), seeded with
# `flint seed --posts N` into a SQLite database of its own, and started on
# loopback. Every build then answers the same wrk runs in turn, round after
# round: cached post details (200 slugs at random through bench/paths.lua,
# as bench/run.sh does), `/api/tags` and `/api/posts`, at 1 and 16
# connections. Prints the median req/s of each cell and its ratio to the
# first REV. Alternating the builds in one boot is what makes a few percent
# visible on a noisy machine: bench/run.sh's ratios move by more than that
# from run to run.
set -euo pipefail
cd "$(dirname "$0")/.."
posts=1000
rounds=3
duration=3
revs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --posts) posts=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -*) echo "usage: bench/ab.sh [--posts N] [--rounds N] [--duration SECONDS] REV [REV...]" >&2; exit 2 ;;
    *) revs+=("$1"); shift ;;
  esac
done
[ ${#revs[@]} -ge 2 ] || { echo "bench/ab.sh: name at least two revisions" >&2; exit 2; }
command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for tree in "$work"/tree-*; do [ -d "$tree" ] && git worktree remove --force "$tree" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bins=() ports=() names=()
for rev in "${revs[@]}"; do
  if [ "$rev" = . ]; then
    name="working-tree"
    target="${CARGO_TARGET_DIR:-$HOME/.cache/flint-target}"
    echo "building the working tree (release)..." >&2
    CARGO_TARGET_DIR="$target" cargo build --release --quiet
  else
    commit=$(git rev-parse --verify "$rev^{commit}")
    name="$rev (${commit:0:7})"
    target="$HOME/.cache/flint-ab/$commit"
    if [ ! -x "$target/release/flint" ]; then
      echo "building $rev (release, into $target)..." >&2
      tree="$work/tree-${commit:0:12}"
      git worktree add --detach -f "$tree" "$commit" >/dev/null 2>&1
      (cd "$tree" && CARGO_TARGET_DIR="$target" cargo build --release --quiet)
    fi
  fi
  i=${#bins[@]}
  port=$(free_port)
  echo "seeding $posts posts for $name..." >&2
  DATABASE_URL="sqlite://$work/db-$i.db" FLINT_LOG=warn "$target/release/flint" seed --posts "$posts" >/dev/null
  DATABASE_URL="sqlite://$work/db-$i.db" FLINT_LOG=warn FLINT_LISTEN="127.0.0.1:$port" FLINT_BASE_URL="http://127.0.0.1:$port" \
    "$target/release/flint" serve >/dev/null 2>&1 &
  pids+=($!)
  bins+=("$target/release/flint") ports+=("$port") names+=("$name")
done

for port in "${ports[@]}"; do
  until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.1; done
done
curl -s "http://127.0.0.1:${ports[0]}/sitemap.xml" | grep -o '<loc>[^<]*/post/[^<]*</loc>' \
  | sed -e 's#<loc>[^/]*//[^/]*##' -e 's#</loc>##' -e 's#^/post/#/api/post/#' | awk 'NR <= 200' >"$work/detail"
echo "/api/tags" >"$work/tags"
echo "/api/posts" >"$work/list"
# Warm every cache the runs will read.
for port in "${ports[@]}"; do
  cat "$work/detail" "$work/tags" "$work/list" | while read -r path; do curl -s -o /dev/null "http://127.0.0.1:$port$path"; done
done

results="$work/results"
: >"$results"
for what in detail tags list; do
  for conns in 1 16; do
    threads=$([ "$conns" = 1 ] && echo 1 || echo 2)
    for round in $(seq "$rounds"); do
      for i in "${!ports[@]}"; do
        rps=$(WRK_PATHS="$work/$what" wrk -t"$threads" -c"$conns" -d"${duration}s" -s bench/paths.lua "http://127.0.0.1:${ports[$i]}" \
          | awk '/Requests\/sec/ {print $2}')
        echo "$what $conns $i $rps" >>"$results"
      done
    done
  done
done

python3 - "$results" "${names[@]}" <<'PY'
import collections, statistics, sys
path, names = sys.argv[1], sys.argv[2:]
cells = collections.defaultdict(list)
for line in open(path):
    what, conns, i, rps = line.split()
    cells[(what, int(conns), int(i))].append(float(rps))
labels = {"detail": "cached detail (200 slugs)", "tags": "`/api/tags`", "list": "`/api/posts`"}
print("| path | c | " + " | ".join(names) + " |")
print("|---|---:|" + "---:|" * len(names))
for what in ("detail", "tags", "list"):
    for conns in (1, 16):
        first = statistics.median(cells[(what, conns, 0)])
        row = [f"{first:,.0f}"]
        for i in range(1, len(names)):
            m = statistics.median(cells[(what, conns, i)])
            row.append(f"{m:,.0f} ({m / first:.2f})")
        print(f"| {labels[what]} | {conns} | " + " | ".join(row) + " |")
PY
