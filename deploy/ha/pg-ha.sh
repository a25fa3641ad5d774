#!/usr/bin/env bash
# PostgreSQL high availability on one machine, for trying hubbook's failover behaviour and for its
# fault harness: a pg_auto_failover monitor and two data nodes (a primary and a synchronous
# standby) on loopback ports, from Debian's packages (postgresql-15-auto-failover,
# pg-auto-failover-cli). The same commands, with real host names, set up a production pair; see
# deploy/README.md.
#
#   deploy/ha/pg-ha.sh start      # install if missing (as root), create, start, wait for primary + sync standby
#   deploy/ha/pg-ha.sh uri        # the multi-host URL hubbook connects with
#   deploy/ha/pg-ha.sh state      # pg_autoctl show state
#   deploy/ha/pg-ha.sh switchover # a planned switchover (the standby becomes primary)
#   deploy/ha/pg-ha.sh primary-pid # the PID of the primary's postmaster (for kill -9)
#   deploy/ha/pg-ha.sh restart-primary # restart the primary's PostgreSQL (fast shutdown)
#   deploy/ha/pg-ha.sh async      # replication without a synchronous standby (to show what it risks)
#   deploy/ha/pg-ha.sh stop       # stop everything and remove the data directories
#
# Settings (environment): HA_DIR (/tmp/hubbook-ha), HA_PORT (6000: the monitor; the nodes take the
# next two ports), HA_DB (hubbook). Everything runs as the `postgres` user and listens on 127.0.0.1
# only, with trust authentication: for this machine, not for a network.
set -euo pipefail

HA_DIR=${HA_DIR:-/tmp/hubbook-ha}
HA_PORT=${HA_PORT:-6000}
HA_DB=${HA_DB:-hubbook}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
MONITOR="postgres://autoctl_node@127.0.0.1:$HA_PORT/pg_auto_failover?sslmode=disable"
export PATH="$PGBIN:$PATH"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- env PATH="$PATH" "$@"; fi
}

autoctl() { as_postgres pg_autoctl "$@"; }

install_packages() {
  local missing=()
  for pkg in "postgresql-$(basename "$(dirname "$PGBIN")")-auto-failover" pg-auto-failover-cli; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "install ${missing[*]} (apt-get, as root) first" >&2; exit 1; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# start_node NAME PORT: create the node if it is not yet, and run its keeper in the background.
run_node() {
  local name=$1 port=$2 kind=$3
  local pgdata="$HA_DIR/$name"
  if [ "$kind" = monitor ]; then
    autoctl create monitor --pgdata "$pgdata" --pgport "$port" --hostname 127.0.0.1 \
      --auth trust --no-ssl --run >"$HA_DIR/$name.log" 2>&1 &
  else
    autoctl create postgres --pgdata "$pgdata" --pgport "$port" --hostname 127.0.0.1 \
      --listen 127.0.0.1 --name "$name" --dbname "$HA_DB" --monitor "$MONITOR" \
      --auth trust --no-ssl --run >"$HA_DIR/$name.log" 2>&1 &
  fi
  echo $! >"$HA_DIR/$name.keeper.pid"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq "$seconds"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "timed out waiting for $what; logs in $HA_DIR" >&2
  return 1
}

state() { autoctl show state --monitor "$MONITOR" 2>/dev/null; }

healthy() { # one primary and one secondary, both reported so
  local s
  s=$(state) || return 1
  grep -q '|[[:space:]]*primary[[:space:]]*|[[:space:]]*primary' <<<"$s" &&
    grep -q '|[[:space:]]*secondary[[:space:]]*|[[:space:]]*secondary' <<<"$s"
}

start() {
  install_packages
  mkdir -p "$HA_DIR"
  chown postgres: "$HA_DIR" 2>/dev/null || true
  run_node monitor "$HA_PORT" monitor
  wait_for 60 "the monitor" as_postgres pg_isready -q -h 127.0.0.1 -p "$HA_PORT" -d pg_auto_failover
  run_node node1 $((HA_PORT + 1)) data
  wait_for 90 "the first node to be primary" bash -c "'$0' state | grep -q 'single'"
  run_node node2 $((HA_PORT + 2)) data
  wait_for 180 "a primary and a synchronous standby" healthy
  state
  echo "connect with: $(uri)"
}

uri() {
  echo "postgres://postgres@127.0.0.1:$((HA_PORT + 1)),127.0.0.1:$((HA_PORT + 2))/$HA_DB?target_session_attrs=read-write&sslmode=disable&connect_timeout=2"
}

primary_port() {
  state | awk -F'|' '$6 ~ /primary/ && $7 ~ /primary/ { split($3, a, ":"); gsub(/ /, "", a[2]); print a[2] }' | head -n1
}

primary_pgdata() {
  local port
  port=$(primary_port)
  [ -n "$port" ] || { echo "no primary now" >&2; return 1; }
  for dir in "$HA_DIR"/node1 "$HA_DIR"/node2; do
    if [ "$(sed -n 4p "$dir/postmaster.pid" 2>/dev/null)" = "$port" ]; then
      echo "$dir"
      return 0
    fi
  done
  echo "no running postmaster found for port $port" >&2
  return 1
}

primary_pid() { head -n1 "$(primary_pgdata)/postmaster.pid"; }

restart_primary() {
  # A fast shutdown (SIGINT to the postmaster), as in an operator's restart: PostgreSQL ends
  # every session (SQLSTATE 57P01), and pg_autoctl's keeper starts it again.
  kill -INT "$(primary_pid)"
  sleep 1
  wait_for 60 "a primary and a synchronous standby again" healthy
}

switchover() {
  autoctl perform switchover --monitor "$MONITOR" --formation default
  wait_for 120 "a primary and a synchronous standby again" healthy
}

async() {
  # No node counts towards the write quorum: commits no longer wait for the standby.
  for dir in "$HA_DIR"/node1 "$HA_DIR"/node2; do
    autoctl set node replication-quorum false --pgdata "$dir" >/dev/null
  done
  autoctl set formation number-sync-standbys 0 --monitor "$MONITOR" >/dev/null 2>&1 || true
  sleep 3
  for port in $((HA_PORT + 1)) $((HA_PORT + 2)); do
    echo "127.0.0.1:$port synchronous_standby_names = '$(as_postgres psql -h 127.0.0.1 -p "$port" -d postgres -Atc 'SHOW synchronous_standby_names')'"
  done
}

stop() {
  for name in node2 node1 monitor; do
    if [ -d "$HA_DIR/$name" ]; then autoctl stop --pgdata "$HA_DIR/$name" --fast >/dev/null 2>&1 || true; fi
  done
  for name in node2 node1 monitor; do
    pidfile="$HA_DIR/$name.keeper.pid"
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  sleep 1
  for name in node2 node1 monitor; do
    if [ -f "$HA_DIR/$name/postmaster.pid" ]; then
      as_postgres pg_ctl -D "$HA_DIR/$name" stop -m immediate >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$HA_DIR"
  # pg_autoctl keeps its state under the postgres user's XDG directories, by data directory.
  rm -rf ~postgres/.local/share/pg_autoctl"$HA_DIR" ~postgres/.config/pg_autoctl"$HA_DIR"
}

case "${1:-}" in
  start) start ;;
  uri) uri ;;
  state) state ;;
  switchover) switchover ;;
  primary-pid) primary_pid ;;
  restart-primary) restart_primary ;;
  primary-pgdata) primary_pgdata ;;
  primary-port) primary_port ;;
  async) async ;;
  stop) stop ;;
  *) sed -n '2,20p' "$0"; exit 2 ;;
esac
