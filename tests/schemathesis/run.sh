#!/usr/bin/env bash
# Fuzzes the API from its own OpenAPI document with schemathesis (pinned in requirements.txt),
# once for each role: a fresh demo on embedded SQLite per role, that role's token, every phase,
# bounded in time. Fails on any failure of the checks that hold the server to its document: no
# 5xx, every status and problem type declared, every body of its declared shape and content
# type, declared headers sent, 405 with Allow, no operation that ignores its token, a missing
# required header refused (schemathesis.toml beside this script says why 428 counts).
#
# Two checks are run but not counted, because the document cannot say every rule the server
# keeps (HUBBOOK_ST_ALL=1 counts them): positive_data_acceptance (a request the schema allows
# may still break a rule across fields or against stored data: an NHS number's check digit, a
# postcode or coordinates but not both, a date range's length, a PEM certificate, an https
# webhook URL, a reference that must exist, an If-Match of a version the resource never had)
# and negative_data_rejection (its counterpart).
#
#   tests/schemathesis/run.sh [path/to/hubbook]     (default: target/debug/hubbook, built if missing)
#
# HUBBOOK_ST_SECONDS bounds each role's run (default 45); the report of each role is written to
# target/schemathesis/<role>.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/schemathesis
binary=${1:-target/debug/hubbook}
seconds=${HUBBOOK_ST_SECONDS:-45}
out=target/schemathesis
mkdir -p "$out"

venv=target/st-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$(grep '^schemathesis==' "$here/requirements.txt" | cut -d= -f3)"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
[ -x "$binary" ] || cargo build --quiet --bin hubbook

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

token() { # base, form fields
  curl -sf -X POST "$1/api/v1/auth/token" -H 'Content-Type: application/json' -d "$2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

exclude="--exclude-checks positive_data_acceptance,negative_data_rejection"
[ "${HUBBOOK_ST_ALL:-0}" = 1 ] && exclude=""
failed=()
for role in receptionist hub_staff triage cluster_manager admin; do
  case $role in
    receptionist) credentials='{"grant_type":"password","username":"reception-x00001","password":"demo-password"}' ;;
    hub_staff) credentials='{"grant_type":"password","username":"hubstaff","password":"demo-password"}' ;;
    cluster_manager) credentials='{"grant_type":"password","username":"manager","password":"demo-password"}' ;;
    admin) credentials='{"grant_type":"password","username":"admin","password":"demo-password"}' ;;
    triage) credentials='{"grant_type":"client_credentials","client_id":"demo-111","client_secret":"demo-password"}' ;;
  esac
  dir=$(mktemp -d)
  port=$(free_port)
  base="http://127.0.0.1:$port"
  "$binary" demo --bind "127.0.0.1:$port" --database-url "sqlite://$dir/demo.db" >"$out/$role.server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 120); do curl -sf "$base/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
  tok=$(token "$base" "$credentials")
  echo "+ schemathesis as $role ($seconds s)"
  set +e
  "$venv/bin/st" --config-file "$here/schemathesis.toml" --no-color run "$base/openapi.json" \
    --url "$base" -H "Authorization: Bearer $tok" --checks all $exclude --workers 1 \
    --max-time "$seconds" --generation-deterministic --seed 1 >"$out/$role.txt" 2>&1
  status=$?
  set -e
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
  tail -n 25 "$out/$role.txt"
  [ "$status" -eq 0 ] || failed+=("$role")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "schemathesis found failures as: ${failed[*]} (see $out/<role>.txt)" >&2
  exit 1
fi
echo "schemathesis: no failures for any role"
