#!/usr/bin/env bash
# CPU per national search, hubbook's and PostgreSQL's, and the statements a search sends.
#
#   crates/hubbook-load/scripts/cpu-per-search.sh
#
# Serves the national database that compare.sh seeds (run compare.sh once first) and runs
#   open:   searches at RATE a second (200, below saturation) for SECONDS_EACH (20) seconds;
#   closed: USERS (32) virtual users searching as fast as they are answered, as in compare.sh.
# For each run: CPU time (utime+stime from /proc) of the hubbook process, of PostgreSQL's
# backends of the database and of its other processes, sampled every 0.25 s and taken between
# the first and last search the server logged (so the logins' argon2 work before the clock is
# left out), divided by the searches logged in that window; and pg_stat_statements for the run:
# per statement calls, calls per search, mean plan and execution ms, share of the total time.
# Needs pg_stat_statements in shared_preload_libraries, with pg_stat_statements.track_planning
# on for plan times. Settings (environment): PG, DB (hubbook_bench_national), CLUSTERS (1250),
# RATE, SECONDS_EACH, USERS, OUT (target/perf-notes/cpu-<time>), LOAD_SEED, NO_BUILD=1, BIN (the
# directory of the hubbook and hubbook-load binaries to measure; target/release).
set -euo pipefail
cd "$(dirname "$0")/../../.."

PG=${PG:-postgres://postgres@127.0.0.1}
DB=${DB:-hubbook_bench_national}
CLUSTERS=${CLUSTERS:-1250}
RATE=${RATE:-200}
SECONDS_EACH=${SECONDS_EACH:-20}
USERS=${USERS:-32}
OUT=${OUT:-target/perf-notes/cpu-$(date -u +%Y%m%dT%H%M%SZ)}
LOAD_SEED=${LOAD_SEED:-$(date +%s)}
# A free port: tests elsewhere on the machine may hold any fixed one.
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
export HUBBOOK_JWT_SECRET=compare-secret-that-is-long-enough-0123456789
export HUBBOOK_TOKEN_TTL=3600
mkdir -p "$OUT"
[ "${NO_BUILD:-0}" = 1 ] || cargo build --release -q -p hubbook -p hubbook-load
BIN=${BIN:-target/release}
URL="$PG/$DB?sslmode=disable"
psql "$URL" -qc "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
# As compare.sh's settle: releases due since the seed are history, and the tables vacuumed.
psql "$URL" -qc "UPDATE slots SET release_announced_at = released_at
                 WHERE release_announced_at IS NULL AND released_at <= now() AT TIME ZONE 'UTC'"
psql "$URL" -qc "VACUUM ANALYZE"

"$BIN/hubbook" serve --database-url "$URL" --bind "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
SAMPLER=
trap 'kill $SERVER $SAMPLER 2>/dev/null || true; wait 2>/dev/null || true' EXIT
until curl -sf -o /dev/null "http://127.0.0.1:$PORT/health/ready"; do
  kill -0 $SERVER 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
  sleep 0.2
done
git log -1 --format='commit %h %s' >"$OUT/commit.txt"

measure() { # measure NAME [hubbook-load args...]
  local name=$1
  shift
  echo "== $name" >&2
  psql "$URL" -qtAc "SELECT pg_stat_statements_reset()" >/dev/null
  python3 - "$SERVER" "$DB" "$OUT/$name.cpu.csv" "$OUT/$name.stop" <<'PY' &
import os, sys, time
server, db, out, stop = sys.argv[1:]
def ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except OSError:
        return 0
def others():  # PostgreSQL's backends of the database, its own processes, the load generator
    backends = other = load = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        words = cmd.replace("\0", " ").split()
        if words and words[0].endswith("/hubbook-load"): load += ticks(pid)
        if cmd.startswith("postgres: ") and len(words) > 4 and words[4].endswith(")"):
            if words[3] == db: backends += ticks(pid)  # a client backend of the database
        elif cmd.startswith("postgres: ") or words and words[0].endswith("/bin/postgres"):
            other += ticks(pid)  # the postmaster and background processes, not other databases' clients
    return backends, other, load
def machine():  # busy ticks of every core
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:]))
    return sum(v) - v[3] - v[4]  # all but idle and iowait
with open(out, "w") as f:
    f.write("t,hubbook,pg_backends,pg_other,load_generator,machine\n")
    while not os.path.exists(stop):
        b, o, l = others()
        f.write(f"{time.time():.3f},{ticks(server)},{b},{o},{l},{machine()}\n")
        f.flush()
        time.sleep(0.25)
PY
  SAMPLER=$!
  "$BIN/hubbook-load" --base-url "http://127.0.0.1:$PORT" --scenario search --seconds "$SECONDS_EACH" \
    --seeded-clusters "$CLUSTERS" --password seed-password --seed "$LOAD_SEED" --server-pid "$SERVER" \
    --json "$OUT/$name.json" "$@" >"$OUT/$name.md"
  sleep 0.5
  touch "$OUT/$name.stop"
  wait "$SAMPLER"
  SAMPLER=
  psql "$URL" --csv -c "SELECT calls, plans, total_plan_time, total_exec_time, rows, shared_blks_hit,
    shared_blks_read, query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
    WHERE d.datname = '$DB' ORDER BY total_plan_time + total_exec_time DESC" >"$OUT/$name.statements.csv"
  cp "$OUT/server.log" "$OUT/$name.server.log"
  : >"$OUT/server.log"
  python3 - "$OUT" "$name" <<'PY' | tee "$OUT/$name.summary.md"
import csv, datetime, json, os, re, sys
out, name = sys.argv[1:]
tick = os.sysconf("SC_CLK_TCK")
colour, stamp = re.compile(r"\x1b\[[0-9;]*m"), re.compile(r"^(\S+Z) ")
times = []  # when the server answered each search, from its request log
for line in open(f"{out}/{name}.server.log", errors="replace"):
    line = colour.sub("", line)
    if "route=/api/v1/slots " in line:
        m = stamp.match(line)
        if m:
            times.append(datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp())
rows = [tuple(map(float, r.values())) for r in csv.DictReader(open(f"{out}/{name}.cpu.csv"))]
def at(t):  # CPU seconds at time t, interpolated between samples
    for a, b in zip(rows, rows[1:]):
        if a[0] <= t <= b[0]:
            w = (t - a[0]) / (b[0] - a[0])
            return [(x + w * (y - x)) / tick for x, y in zip(a[1:], b[1:])]
    raise SystemExit(f"{t} is outside the samples")
t0, t1 = times[0] + 1.0, times[-1] - 0.5
n = sum(t0 < t <= t1 for t in times)
cpu = [e - s for s, e in zip(at(t0), at(t1))]
run = json.load(open(f"{out}/{name}.json"))
s = run["operations"]["search"]
print(f"## {name}: {run['model']} model, {run['concurrency']} users" + (f", {run['rate']:.0f}/s" if run.get("rate") else ""))
print(f"searches {s['count']} ({s['per_second']:.0f}/s), p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms, "
      f"statuses {run['statuses']}")
print(f"CPU window {t1 - t0:.1f} s, {n} searches: hubbook {1000 * cpu[0] / n:.2f} ms/search, "
      f"PostgreSQL backends {1000 * cpu[1] / n:.2f}, other PostgreSQL processes {1000 * cpu[2] / n:.2f}, "
      f"total {1000 * sum(cpu[:3]) / n:.2f} ms/search ({sum(cpu[:3]) / (t1 - t0):.2f} cores)")
print(f"the whole machine was busy {cpu[4] / (t1 - t0):.2f} cores: the load generator {cpu[3] / (t1 - t0):.2f}, "
      f"everything else (other work on the machine, this sampler) {(cpu[4] - sum(cpu[:4])) / (t1 - t0):.2f}")
stmts = list(csv.DictReader(open(f"{out}/{name}.statements.csv")))
total = sum(float(r["total_plan_time"]) + float(r["total_exec_time"]) for r in stmts) or 1
# Plan and execution times per call (a statement's plans may be fewer than its calls when a
# cached plan is reused); at saturation they include waiting for a core.
print("\n| calls | per search | plans | plan ms/call | exec ms/call | share of time | rows/call | statement |")
print("|---|---|---|---|---|---|---|---|")
for r in stmts:
    c, p, e = max(int(r["calls"]), 1), float(r["total_plan_time"]), float(r["total_exec_time"])
    q = " ".join(r["query"].split())
    print(f"| {r['calls']} | {int(r['calls']) / len(times):.3f} | {r['plans'] or 0} | {p / c:.3f} | {e / c:.3f} | "
          f"{(p + e) / total:.1%} | {int(r['rows']) / c:.1f} | {q[:100]} |")
print()
PY
}

measure open --concurrency "$USERS" --rate "$RATE"
measure closed --concurrency "$USERS"
echo "figures kept in $OUT" >&2
