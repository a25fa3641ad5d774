#!/usr/bin/env bash
# Fuzzes the API from its own OpenAPI document with schemathesis (pinned in requirements.txt),
# once for each role: a fresh demo on embedded SQLite per role, the rows that role's run needs
# (fixtures.py), that role's token, every phase and every check, bounded in time. Fails on any
# failure of a check (schemathesis.toml beside this script lists the few answers the document
# cannot foresee, each with its reason), and unless every operation the role may call answered
# 2xx at least once and no other did (roles.toml lists them; coverage.py counts).
#
#   tests/schemathesis/run.sh [path/to/hubbook]     (default: target/debug/hubbook, built if missing)
#
# HUBBOOK_ST_SECONDS bounds each role's run (default 60); HUBBOOK_ST_ROLES picks roles (all five
# by default). Each role's report is target/schemathesis/<role>.txt, its settings <role>.toml and
# every request and answer <role>-report/*.ndjson.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/schemathesis
binary=${1:-target/debug/hubbook}
seconds=${HUBBOOK_ST_SECONDS:-60}
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

failed=()
for role in ${HUBBOOK_ST_ROLES:-receptionist hub_staff triage cluster_manager admin}; do
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
  status=0
  python3 "$here/fixtures.py" "$base" "$role" "$out/$role.examples.json" >"$out/$role.toml" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "+ schemathesis as $role ($seconds s)"
    rm -rf "$out/$role-report"
    HUBBOOK_ST_EXAMPLES="$out/$role.examples.json" PYTHONPATH="$here" "$venv/bin/st" --config-file "$out/$role.toml" --no-color run "$base/openapi.json" \
      --url "$base" -H "Authorization: Bearer $tok" --checks all --workers 1 \
      --max-time "$seconds" --generation-deterministic --seed 1 \
      --report ndjson --report-dir "$out/$role-report" >"$out/$role.txt" 2>&1 || status=$?
    tail -n 25 "$out/$role.txt"
    python3 "$here/coverage.py" "$out/$role-report"/*.ndjson "$role" "$here/roles.toml" \
      >"$out/$role.coverage.txt" || status=$?
    grep '^FAIL' "$out/$role.coverage.txt" || echo "every operation the $role may call answered 2xx; no other did"
  fi
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
  [ "$status" -eq 0 ] || failed+=("$role")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "schemathesis found failures as: ${failed[*]} (see $out/<role>.txt)" >&2
  exit 1
fi
echo "schemathesis: no failures for any role"
