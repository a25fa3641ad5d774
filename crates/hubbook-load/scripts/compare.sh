#!/usr/bin/env bash
# The whole performance comparison in one run: seed, serve, load, and pgbench doing the same
# statements against the same database at the same concurrency, on SQLite and PostgreSQL.
#
#   crates/hubbook-load/scripts/compare.sh            # reuse seeded databases when present
#   FRESH=1 crates/hubbook-load/scripts/compare.sh    # drop and seed them again
#
# Settings (environment): PG (server URL without database, default postgres://postgres@127.0.0.1),
# SECONDS_EACH (20), NATIONAL (1250 clusters), WEEKS (26), OUT (target/perf/<time>), LOAD_SEED
# (which practices the virtual users are; a new one each run, so that bookings of earlier runs do
# not leave them a fully booked week), NO_BUILD=1 and BIN (the directory of the binaries to
# measure; target/release).
# The national seed takes about 14 minutes on a 2-core machine; later runs reuse it.
# Prints a markdown table; every run's figures are also kept as JSON under $OUT.
set -euo pipefail
cd "$(dirname "$0")/../../.."

PG=${PG:-postgres://postgres@127.0.0.1}
SECONDS_EACH=${SECONDS_EACH:-20}
NATIONAL=${NATIONAL:-1250}
WEEKS=${WEEKS:-26}
OUT=${OUT:-target/perf/$(date -u +%Y%m%dT%H%M%SZ)}
START=2026-11-23 # a fixed Monday, so every run seeds the same data
PORT=8390
PASSWORD=seed-password
LOAD_SEED=${LOAD_SEED:-$(date +%s)}
# hubbook's own PostgreSQL session settings (hubbook-store conn.rs), given to pgbench too.
export PGOPTIONS="-c jit=off"
export HUBBOOK_JWT_SECRET=compare-secret-that-is-long-enough-0123456789
export HUBBOOK_TOKEN_TTL=3600
mkdir -p "$OUT"

[ "${NO_BUILD:-0}" = 1 ] || cargo build --release -q -p hubbook -p hubbook-load
BIN=${BIN:-target/release}
SERVER=

stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; SERVER=; fi
}
trap stop_server EXIT

serve() { # serve DATABASE_URL
  stop_server
  "$BIN/hubbook" serve --database-url "$1" --bind "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 600); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/ready" && return; sleep 0.2; done
  echo "the server did not become ready; see $OUT/server.log" >&2
  exit 1
}

load() { # load NAME CLUSTERS SCENARIO CONCURRENCY [extra hubbook-load args...]
  local name=$1 clusters=$2 scenario=$3 concurrency=$4
  shift 4
  echo "== $name" >&2
  "$BIN/hubbook-load" --base-url "http://127.0.0.1:$PORT" --scenario "$scenario" \
    --concurrency "$concurrency" --seconds "$SECONDS_EACH" --seeded-clusters "$clusters" \
    --password "$PASSWORD" --client-id seed-111 --server-pid "$SERVER" --seed "$LOAD_SEED" \
    --json "$OUT/$name.json" "$@" >"$OUT/$name.md"
}

booked_by_pgbench() { # the appointments pgbench_book.sql has made in DATABASE_URL
  psql "$1" -tAc "SELECT count(*) FROM appointments WHERE patient_name = 'Load Patient'"
}

pgb() { # pgb NAME DATABASE_URL CLUSTERS SCRIPT CLIENTS
  echo "== $1 (pgbench)" >&2
  local before
  before=$(booked_by_pgbench "$2")
  pgbench -n -M prepared -c "$5" -j 2 -T "$SECONDS_EACH" -D clusters="$3" -D load_seed="$LOAD_SEED" -D week=0 \
    -f "crates/hubbook-load/bench/$4" "$2" >"$OUT/$1.txt" 2>&1
  echo "bookings = $(( $(booked_by_pgbench "$2") - before ))" >>"$OUT/$1.txt"
}

pg_database() { # pg_database NAME CLUSTERS WEEKS: create and seed unless present (or FRESH=1)
  local db=$1
  if [ "${FRESH:-0}" = 1 ]; then psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"; fi
  if psql "$PG/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
    echo "reusing $db (FRESH=1 seeds it again)" >&2
  else
    psql "$PG/postgres" -qc "CREATE DATABASE $db"
    "$BIN/hubbook" seed --database-url "$PG/$db?sslmode=disable" --clusters "$2" --weeks "$3" \
      --start "$START" --password "$PASSWORD" 2>/dev/null | tee "$OUT/seed-$db.txt" >&2
  fi
}

settle() { # settle DATABASE_URL: a reused database as a fresh seed leaves it, before it is measured
  # Releases that fell due since the seed (or the last run) are history, as the seed treats those
  # before it: otherwise the server's first minutes announce hundreds of thousands of them.
  psql "$1" -qc "UPDATE slots SET release_announced_at = released_at
                 WHERE release_announced_at IS NULL AND released_at <= now() AT TIME ZONE 'UTC'"
  # Earlier runs' holds and bookings leave dead rows; the plans and buffers measured are those of
  # a vacuumed table, whatever autovacuum has managed since.
  psql "$1" -qc "VACUUM ANALYZE"
}

# SQLite: one cluster, a year published.
SQLITE_FILE=$(mktemp -d)/hubbook-bench.db
"$BIN/hubbook" seed --database-url "sqlite://$SQLITE_FILE" --clusters 1 --weeks 52 --start "$START" \
  --password "$PASSWORD" 2>/dev/null | tee "$OUT/seed-sqlite.txt" >&2
serve "sqlite://$SQLITE_FILE"
load sqlite-search 1 search 16
load sqlite-search-open 1 search 16 --rate 400
load sqlite-mixed 1 mixed 16
stop_server
rm -f "$SQLITE_FILE" "$SQLITE_FILE-wal" "$SQLITE_FILE-shm"

# PostgreSQL: one cluster, then the nation, the same week published.
FRESH=1 pg_database hubbook_bench_one 1 "$WEEKS" # a second to seed: always fresh
ONE="$PG/hubbook_bench_one?sslmode=disable"
serve "$ONE"
load pg-one-search 1 search 32
pgb pg-one-search "$ONE" 1 pgbench_search.sql 32
stop_server

pg_database hubbook_bench_national "$NATIONAL" "$WEEKS"
NAT="$PG/hubbook_bench_national?sslmode=disable"
settle "$NAT"
serve "$NAT"
load pg-national-search "$NATIONAL" search 32
pgb pg-national-search "$NAT" "$NATIONAL" pgbench_search.sql 32
load pg-national-search-open "$NATIONAL" search 32 --rate 100
load pg-national-book "$NATIONAL" book 16
pgb pg-national-book "$NAT" "$NATIONAL" pgbench_book.sql 16
load pg-national-triage "$NATIONAL" triage 8
load pg-national-mixed "$NATIONAL" mixed 32
stop_server

python3 - "$OUT" "$SECONDS_EACH" <<'PY'
import json, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
def run(name):
    return json.loads((out / f"{name}.json").read_text())
def figure(name, label):
    m = re.search(label + r" = ([0-9.]+)", (out / f"{name}.txt").read_text())
    return float(m.group(1)) if m else float("nan")
rows = [
    ("SQLite, 1 cluster, 52 weeks", "sqlite-search", "search", 16, None),
    ("SQLite, 1 cluster, 52 weeks", "sqlite-search-open", "search at 400/s (open)", 16, None),
    ("SQLite, 1 cluster, 52 weeks", "sqlite-mixed", "mixed", 16, None),
    ("PostgreSQL, 1 cluster", "pg-one-search", "search", 32, "pg-one-search"),
    ("PostgreSQL, national", "pg-national-search", "search", 32, "pg-national-search"),
    ("PostgreSQL, national", "pg-national-search-open", "search at 100/s (open)", 32, None),
    ("PostgreSQL, national", "pg-national-book", "book: bookings/s (search, hold, book)", 16, "pg-national-book"),
    ("PostgreSQL, national", "pg-national-triage", "triage", 8, None),
    ("PostgreSQL, national", "pg-national-mixed", "mixed", 32, None),
]
print("| data | scenario | users | per second | p50 ms | p90 ms | p99 ms | p99.9 ms | non-2xx | 5xx | peak RSS MB | pgbench tps | hubbook / pgbench |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for data, name, scenario, users, bench in rows:
    r = run(name)
    ops = r["operations"]
    # The first operation of an iteration counts iterations (search for book and mixed).
    key = {"book": "book iteration (search+hold+book)", "mixed": "search", "triage": "triage"}.get(r["scenario"], "search")
    main = ops.get(key) or next(iter(ops.values()))
    per_second = sum(o["per_second"] for k, o in ops.items()) if r["scenario"] == "mixed" else main["per_second"]
    errors = sum(v for k, v in r["statuses"].items() if not re.search(r" 2\d\d$", k))
    rss = (r.get("peak_rss_kb") or 0) / 1024
    ratio = bench_tps = ""
    if bench and r["scenario"] == "book":
        # Bookings made per second, on both sides (a search that finds nothing books nothing).
        ours = r["statuses"].get("book 201", 0) / r["seconds"]
        theirs = figure(bench, "bookings") / float(sys.argv[2])
        per_second = ours
        bench_tps = f"{theirs:.0f} bookings/s ({figure(bench, 'tps'):.0f} tps)"
        ratio = f"{ours / theirs:.0%}"
    elif bench:
        t = figure(bench, "tps")
        bench_tps = f"{t:.0f}"
        ratio = f"{main['per_second'] / t:.0%}"
    print(f"| {data} | {scenario} | {users} | {per_second:.0f} | {main['p50_ms']:.1f} | {main['p90_ms']:.1f} | "
          f"{main['p99_ms']:.1f} | {main['p999_ms']:.1f} | {errors} | {r['fivexx']} | {rss:.0f} | {bench_tps} | {ratio} |")
one, nat = run("pg-one-search"), run("pg-national-search")
print()
print(f"national / one-cluster search p99 at 32 users: {nat['operations']['search']['p99_ms'] / one['operations']['search']['p99_ms']:.2f}")
PY
echo "figures kept in $OUT" >&2
