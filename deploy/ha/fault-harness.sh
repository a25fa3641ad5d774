#!/usr/bin/env bash
# Runs the fault harness from a clean start: a fresh pg_auto_failover pair (deploy/ha/pg-ha.sh),
# hubbook built (debug, as the tests use it), then deploy/ha/fault-harness.py with any arguments
# given here; the pair is removed afterwards. Exits non-zero when a check fails. As root (it
# installs the packages when missing and runs PostgreSQL as the postgres user).
#
#   deploy/ha/fault-harness.sh                 # 90 s of load, 12 clients, four faults
#   deploy/ha/fault-harness.sh --no-faults     # the same load without faults
#   HA_ASYNC=1 deploy/ha/fault-harness.sh      # with asynchronous replication (what it can lose)
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
deploy/ha/pg-ha.sh stop >/dev/null 2>&1 || true
trap 'deploy/ha/pg-ha.sh stop >/dev/null 2>&1 || true' EXIT
deploy/ha/pg-ha.sh start
if [ -n "${HA_ASYNC:-}" ]; then deploy/ha/pg-ha.sh async; fi
cargo build -q --bin hubbook
python3 deploy/ha/fault-harness.py --hubbook target/debug/hubbook "$@"
echo "fault harness finished in $(( $(date +%s) - started )) s"
