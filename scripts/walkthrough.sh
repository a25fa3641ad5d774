#!/usr/bin/env bash
# The README's walk-through of the API, against a running demo (`hubbook demo`):
#
#   scripts/walkthrough.sh [BASE_URL]     # default http://127.0.0.1:8080
#
# Every step is one curl request; the script checks the status each answers and stops with a
# message on any other. It can run any number of times against the same demo with the same
# answers: its one fixed Idempotency-Key goes with a fixed body (a retry returns the first
# answer), and the 111 booking's key is made from its body. Needs bash, curl and python3.
set -euo pipefail

BASE=${1:-http://127.0.0.1:8080}
API="$BASE/api/v1"
PASSWORD=${HUBBOOK_DEMO_PASSWORD:-demo-password}
TODAY=$(date +%F)
IN_13_DAYS=$(date -d '+13 days' +%F)
IN_27_DAYS=$(date -d '+27 days' +%F)
body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT

# step EXPECTED_STATUS WHAT CURL_ARGUMENTS...: runs curl, shows the status and the start of the
# answer, leaves the answer in $BODY, and fails unless the status is the one expected.
step() {
  local expected=$1 what=$2 status
  shift 2
  status=$(curl -sS -o "$body_file" -w '%{http_code}' "$@") || {
    echo "FAILED: $what: curl could not reach $BASE" >&2
    exit 1
  }
  BODY=$(cat "$body_file")
  if [ "$status" != "$expected" ]; then
    echo "FAILED: $what: expected $expected, got $status: $BODY" >&2
    exit 1
  fi
  printf '%s %s\n    %.150s\n' "$status" "$what" "${BODY//$'\n'/ }"
}

# field PYTHON_EXPRESSION: a value read from the last answer, as `v` (its parsed JSON).
field() {
  python3 -c 'import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$BODY"
}

token() { # token USERNAME: signs a demo user in; the access token
  step 200 "sign in as $1" -X POST "$API/auth/token" -H 'Content-Type: application/json' \
    -d "{\"grant_type\":\"password\",\"username\":\"$1\",\"password\":\"$PASSWORD\"}" >&2
  field 'v["access_token"]'
}

# A token for the cluster manager.
TOKEN=$(token manager)
AUTH=(-H "Authorization: Bearer $TOKEN")
echo "signed in as the cluster manager"

# The demo cluster, its practices, sites and services.
step 200 "the demo cluster" "$API/clusters/U00001" "${AUTH[@]}"
step 200 "three of its practices" "$API/clusters/U00001/practices?limit=3" "${AUTH[@]}"
step 200 "its sites" "$API/clusters/U00001/sites" "${AUTH[@]}"
step 200 "its services" "$API/clusters/U00001/services" "${AUTH[@]}"

# Add a service; a retry with the same Idempotency-Key (and body) returns the same service.
for attempt in first retry; do
  step 201 "add a service ($attempt)" -X POST "$API/clusters/U00001/services" "${AUTH[@]}" \
    -H 'Content-Type: application/json' -H 'Idempotency-Key: 6d1f0c1e-first-contact' \
    -d '{"code":"mh-nurse","name":"Mental health nurse","clinical_role":"mental_health_nurse"}'
done

# Errors are RFC 9457 problem documents with a stable type.
step 422 "a practice with a mistyped ODS code is refused" -X POST \
  "$API/clusters/U00001/practices" "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d '{"ods_code":"A8100","name":"Typo Surgery","list_size":100}'
[ "$(field 'v["type"]')" = invalid-ods-code ] || { echo "FAILED: not invalid-ods-code" >&2; exit 1; }

# A triage integration signs in with client credentials (form or JSON).
step 200 "the 111 client signs in" -X POST "$API/auth/token" \
  -d grant_type=client_credentials -d client_id=demo-111 -d client_secret="$PASSWORD"
CTOKEN=$(field 'v["access_token"]')

# The demo rota, and the sessions it published at the hubs from today.
step 200 "the rotas" "$API/clusters/U00001/rotas" "${AUTH[@]}"
ROTA=$(field 'v["items"][0]["id"]')
step 200 "five sessions from today" "$API/clusters/U00001/sessions?from=$TODAY&limit=5" "${AUTH[@]}"

# What a republish over the next fortnight would change, without writing anything.
step 200 "a dry run of publishing the rota" -X POST \
  "$API/clusters/U00001/rotas/$ROTA/publish" "${AUTH[@]}" -H 'Content-Type: application/json' \
  -d "{\"from\":\"$TODAY\",\"to\":\"$IN_13_DAYS\",\"dry_run\":true}"

# How capacity is shared (111 reservation, release lead times), and the fair-share report.
step 200 "the sharing rules" "$API/clusters/U00001/sharing" "${AUTH[@]}"
step 200 "the fair-share report" \
  "$API/clusters/U00001/reports/fair-share?from=$TODAY&to=$IN_27_DAYS" "${AUTH[@]}"

# A receptionist's search: its practice's reserved slots, open ones, and those released to all.
RTOKEN=$(token reception-x00001)
step 200 "a receptionist's search for GP slots" "$API/slots?role=gp&limit=3" \
  -H "Authorization: Bearer $RTOKEN"
SLOT=$(field 'v["items"][0]["slot_id"]')
# ...and, as the manager, why that slot is or is not offered to each practice and to 111.
step 200 "why the first slot is offered to whom" "$API/slots/$SLOT/visibility" "${AUTH[@]}"

# For a 111 integrator: the disposition codes, availability near the patient, and a booking.
step 200 "three disposition codes" "$API/dispositions?limit=3" -H "Authorization: Bearer $CTOKEN"
step 200 "availability for Dx75 near Leeds" \
  "$API/triage/availability?disposition=Dx75&near=53.80,-1.55" -H "Authorization: Bearer $CTOKEN"
# The triage time is this hour's start, so the body (and the key made from it) repeat within
# the hour: a second run replays the first booking rather than making another.
BOOKING="{\"disposition\":\"Dx75\",\"triaged_at\":\"$(date -u +%FT%H:00:00Z)\",
  \"patient\":{\"nhs_number\":\"9990000018\",\"name\":\"Ada Example\",\"birth_date\":\"1950-01-01\",\"phone\":\"0113 496 0000\"},
  \"registered_practice\":\"X00001\",\"location\":{\"latitude\":53.80,\"longitude\":-1.55},
  \"case_reference\":\"CASE-0001\"}"
KEY=case-$(printf '%s' "$BOOKING" | sha256sum | cut -c1-32)
step 201 "a 111 booking" -X POST "$API/triage/bookings" -H "Authorization: Bearer $CTOKEN" \
  -H 'Content-Type: application/json' -H "Idempotency-Key: $KEY" -d "$BOOKING"
APPOINTMENT=$(field 'v["appointment"]["id"]')
# The appointment as a FHIR R4 Appointment resource.
step 200 "the appointment in FHIR" "$API/appointments/$APPOINTMENT" \
  -H 'Accept: application/fhir+json' -H "Authorization: Bearer $CTOKEN"

# Reports: JSON, or CSV for a spreadsheet.
step 200 "the utilisation report by week" \
  "$API/clusters/U00001/reports/utilisation?from=$TODAY&to=$IN_27_DAYS&group_by=week" "${AUTH[@]}"
step 200 "the Enhanced Access report as CSV" -H 'Accept: text/csv' \
  "$API/clusters/U00001/reports/enhanced-access?from=$TODAY&to=$IN_27_DAYS" "${AUTH[@]}"
head -n1 "$body_file" | grep -q , || { echo "FAILED: the CSV has no header" >&2; exit 1; }

echo "walk-through passed against $BASE"
