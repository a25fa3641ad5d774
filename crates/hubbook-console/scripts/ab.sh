#!/usr/bin/env bash
# Console A/B: two hubbook release binaries, alternated round by round, each started on a fresh
# demo database; every round runs 16 receptionists' search pages for 15 s (scripts/bench.py) and
# prints the pages served, the client's percentiles, the server's p50 and p99 from /metrics, and
# the bytes of a search page. Compare the two as ratios within one run: the machines are shared.
#
#   crates/hubbook-console/scripts/ab.sh path/to/hubbook-before path/to/hubbook-after [rounds]
set -u
A=$1
B=$2
ROUNDS=${3:-3}
here=$(cd "$(dirname "$0")" && pwd)
for r in $(seq 1 "$ROUNDS"); do
  for name in A B; do
    bin=${!name}
    d=$(mktemp -d)
    (cd "$d" && "$bin" demo --bind 127.0.0.1:18081 >demo.log 2>&1 &)
    for _ in $(seq 1 40); do
      curl -fs http://127.0.0.1:18081/health/ready >/dev/null 2>&1 && break
      sleep 0.5
    done
    out=$(python3 "$here/bench.py" --base-url http://127.0.0.1:18081 --users 16 --seconds 15 --search-only 2>&1)
    echo "round $r $name: $(echo "$out" | grep -E '^search ' | head -1) | $(echo "$out" | grep 'GET /:') | $(echo "$out" | grep 'HTML with offers')"
    pkill -f "demo --bind 127.0.0.1:18081"
    sleep 1
    rm -rf "$d"
  done
done
