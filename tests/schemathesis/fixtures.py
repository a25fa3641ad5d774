#!/usr/bin/env python3
"""Makes what one role's schemathesis run needs to reach a 2xx on every operation it may call,
in a fresh demo, and prints the schemathesis settings that point the run at it.

    fixtures.py BASE ROLE EXAMPLES.json > settings.toml

A generated id names nothing, so every path id is pinned to a row made here for the one
operation that uses it (the session a run cancels is not the one whose slots it books), and a
body field the schema cannot make valid alone is pinned too: a reference that must exist, a rule
across fields (a receptionist's practice, a date range), a value checked against stored data (an
NHS number's check digit, a PEM certificate). Everything else stays generated. `If-Match` is `*`
(whatever is current), since a version cannot be known before the run reads it.

The printed settings follow schemathesis.toml beside this script, whose answers and exceptions
still apply. Python's standard library only; the demo's password is `demo-password`.
"""

import datetime as dt
import json
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
import uuid
from zoneinfo import ZoneInfo

BASE, ROLE = sys.argv[1], sys.argv[2]
API = BASE + "/api/v1"
CLUSTER = "U00001"
PASSWORD = "demo-password"
LONDON = ZoneInfo("Europe/London")
PATIENT = {
    "nhs_number": "9990000018",
    "name": "Ada Example",
    "birth_date": "1950-01-01",
    "phone": "0113 496 0000",
}


def nhs_number(n):
    """The n-th valid NHS number of the 999 range kept for tests (the mod-11 check digit)."""
    while True:
        stem = f"999{n:06d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(stem)) % 11
        if check != 10:
            return stem + str(check % 11)
        n += 1


patients = (
    {**PATIENT, "nhs_number": nhs_number(100 + i), "name": f"Fixture Patient {i}"} for i in range(10_000)
)
CREDENTIALS = {
    "receptionist": {"grant_type": "password", "username": "reception-x00001"},
    "hub_staff": {"grant_type": "password", "username": "hubstaff"},
    "cluster_manager": {"grant_type": "password", "username": "manager"},
    "admin": {"grant_type": "password", "username": "admin"},
    "triage": {"grant_type": "client_credentials", "client_id": "demo-111"},
}


def call(method, path, token=None, body=None, expect=(200, 201), headers=None):
    """One request to the demo; the parsed JSON answer, or exits naming what failed."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(API + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    if method == "POST" and path != "/auth/token":
        request.add_header("Idempotency-Key", str(uuid.uuid4()))
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in expect:
        sys.exit(f"fixtures: {method} {path} answered {status}: {text[:400]}")
    return json.loads(text) if text else None


def credentials(role):
    form = dict(CREDENTIALS[role])
    form["client_secret" if role == "triage" else "password"] = PASSWORD
    return form


def token(role):
    return call("POST", "/auth/token", body=credentials(role))["access_token"]


def items(path, tok):
    return call("GET", path, tok)["items"]


manager, admin = token("cluster_manager"), token("admin")
form = credentials(ROLE)
me = token(ROLE)
now = dt.datetime.now(dt.timezone.utc)
today = now.astimezone(LONDON).date()
cluster_path = f"/clusters/{CLUSTER}"

practices = {p["ods_code"]: p for p in items(f"{cluster_path}/practices?limit=100", manager)}
home = practices["X00001"]
sites = items(f"{cluster_path}/sites", manager)
hub = next(s for s in sites if s["kind"] == "hub")
services = items(f"{cluster_path}/services", manager)
rota = items(f"{cluster_path}/rotas", manager)[0]
rota_whole = call("GET", f"{cluster_path}/rotas/{rota['id']}", manager)


def new(path, body, tok=manager):
    return call("POST", path, tok, body)


tag = uuid.uuid4().hex[:6]
own_practice = new(
    f"{cluster_path}/practices", {"ods_code": f"Y{uuid.uuid4().int % 100000:05d}", "name": "Fixture Surgery", "list_size": 2000}
)
own_site = new(
    f"{cluster_path}/sites",
    {"name": "Fixture Hub", "kind": "hub", "address": "9 Fixture Row, Leeds", "postcode": "LS1 4AP",
     "latitude": 53.797, "longitude": -1.548},
)
own_service = new(
    f"{cluster_path}/services", {"code": "fixture-" + tag, "name": "Fixture service", "clinical_role": "nurse"}
)
own_user = new(
    f"{cluster_path}/users",
    {"username": "fixture-" + tag, "display_name": "Fixture User", "password": "fixture-password-1",
     "role": "hub_staff"},
)
own_webhook = new(f"{cluster_path}/webhooks", {"url": "https://hooks.example.org/hubbook"})
own_rota = new(f"{cluster_path}/rotas", {"name": "Fixture rota " + tag, "templates": rota_whole["templates"]})

# A session starting within the hour, so that an appointment in it may be marked arrived.
start = (now.astimezone(LONDON) + dt.timedelta(minutes=10)).replace(second=0, microsecond=0)
start -= dt.timedelta(minutes=start.minute % 5)
end = min(start + dt.timedelta(minutes=90), start.replace(hour=23, minute=55))
template = dict(rota_whole["templates"][0])
template.update(
    key="soon",
    site_id=hub["id"],
    weekdays=[start.strftime("%a").lower()],
    start=start.strftime("%H:%M"),
    end=end.strftime("%H:%M"),
    slot_minutes=5,
    capacity=4,
    valid_from=start.date().isoformat(),
    valid_to=None,
    breaks=[],
    skip_dates=[],
    pattern={"kind": "every_week"},
)
soon_rota = new(f"{cluster_path}/rotas", {"name": "Soon rota " + tag, "templates": [template]})
new(
    f"{cluster_path}/rotas/{soon_rota['id']}/publish",
    {"from": start.date().isoformat(), "to": start.date().isoformat()},
)


# Who books the appointments this role works on: itself when it books, else the receptionist.
booker_role = ROLE if ROLE in ("receptionist", "triage") else "receptionist"
booker = me if booker_role == ROLE else token("receptionist")
taken = set()


def slot(query=None):
    """A free slot nobody else in this run uses; from tomorrow unless the query says otherwise.
    A triage service is offered only the best slot for a disposition, so it must hold or book
    each before asking for the next."""
    if booker_role == "triage":
        best = call("GET", "/triage/availability?disposition=Dx75&near=53.80,-1.55", booker)["best"]
        if best and best["slot_id"] not in taken:
            taken.add(best["slot_id"])
            return best
        sys.exit("fixtures: no free slot left for the triage service")
    # At a hub, where hub staff see the appointments too.
    query = query or f"&from={(today + dt.timedelta(days=1)).isoformat()}T00:00:00Z"
    for offer in items(f"/slots?limit=100&site={hub['id']}{query}", booker):
        if offer["slot_id"] not in taken:
            taken.add(offer["slot_id"])
            return offer
    sys.exit(f"fixtures: no free slot left for {booker_role} ({query!r})")


def book(offer=None):
    """Books a patient, into the offer's slot or (a triage service) the best one."""
    if booker_role == "triage":
        body = {"disposition": "Dx75", "triaged_at": now.replace(microsecond=0).isoformat(),
                "patient": next(patients), "location": {"latitude": 53.80, "longitude": -1.55}}
        return call("POST", "/triage/bookings", booker, body)["appointment"]
    return call("POST", "/appointments", booker, {"slot_id": offer["slot_id"], "patient": next(patients)})


def hold_on(slot_id):
    """The role's own hold on a slot, when it may hold one (a booking may name it)."""
    if ROLE not in ("receptionist", "triage"):
        return None
    return call("POST", f"/slots/{slot_id}/hold", me)["hold_id"]


# A rebooking item: an appointment whose session the manager cancels (before any other booking,
# so that no other fixture sits in that session).
rebook = None
if ROLE in ("receptionist", "cluster_manager"):
    rebook = book(slot())
    call("POST", f"{cluster_path}/sessions/{rebook['session_id']}/cancel", manager,
         {"reason": "Fixture: clinician unwell"}, headers={"If-Match": "*"})

soon_from = start.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
if booker_role == "triage":
    appointment = {name: book() for name in ("read", "notes", "cancel", "reschedule", "outcome")}
    hold = hold_on(slot()["slot_id"])
    free = {"book": slot()["slot_id"]}
    holds = {"book": hold_on(free["book"]), "move_to": None}
    free["hold"] = slot()["slot_id"]
    free["channel"] = free["visibility"] = free["move_to"] = free["hold"]
else:
    appointment = {name: book(slot()) for name in ("read", "notes", "cancel", "reschedule")}
    appointment["outcome"] = book(slot(f"&from={soon_from}"))
    free = {name: slot()["slot_id"] for name in ("hold", "book", "channel", "visibility", "move_to")}
    hold = hold_on(slot()["slot_id"])
    holds = {name: hold_on(free[name]) for name in ("book", "move_to")}
booked_sessions = {a["session_id"] for a in appointment.values()}
sessions = items(f"{cluster_path}/sessions?from={today.isoformat()}&limit=100", manager)
spare = [s["id"] for s in sessions if s["status"] == "active" and s["id"] not in booked_sessions]

integration = new("/integrations", {"name": "Fixture integration " + tag, "clusters": [CLUSTER]}, admin)
secret = call("POST", f"/integrations/{integration['id']}/secrets", admin, {})["id"]


def certificate_pem():
    """A new self-signed TLS client certificate, PEM (a client registers one by its SHA-256)."""
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", scratch + "/key.pem", "-out", scratch + "/cert.pem", "-days", "30",
             "-subj", "/CN=fixture.example.org"],
            check=True, capture_output=True,
        )
        with open(scratch + "/cert.pem") as f:
            return f.read()


pem, second_pem = certificate_pem(), certificate_pem()
certificate = call("POST", f"/integrations/{integration['id']}/certificates", admin, {"certificate": pem})["sha256"]
disposition = new(
    "/dispositions",
    {"code": "Fx" + tag, "description": "Fixture disposition", "timeframe_minutes": 720,
     "delivery": "either", "services": [services[0]["code"]]},
    admin,
)

# What each operation is pointed at: "METHOD /path" -> {"location.name": value}.
C = {"path.code": CLUSTER}
settings = {
    "GET /api/v1/appointments/{id}": {"path.id": appointment["read"]["id"]},
    "PATCH /api/v1/appointments/{id}": {"path.id": appointment["notes"]["id"]},
    "POST /api/v1/appointments/{id}/cancel": {"path.id": appointment["cancel"]["id"]},
    "POST /api/v1/appointments/{id}/outcome": {"path.id": appointment["outcome"]["id"]},
    "POST /api/v1/appointments/{id}/reschedule": {
        "path.id": appointment["reschedule"]["id"], "body.slot_id": free["move_to"],
        "body.hold_id": holds["move_to"]},
    "POST /api/v1/appointments": {
        "body.slot_id": free["book"], "body.patient.nhs_number": PATIENT["nhs_number"],
        "body.hold_id": holds["book"], "body.further_slot_ids": [], "body.registered_practice": "X00001",
        "body.allow_same_day": False,
        "body.on_behalf_of": "X00001" if ROLE == "cluster_manager" else None},
    "POST /api/v1/triage/bookings": {
        "body.disposition": "Dx75", "body.triaged_at": now.replace(microsecond=0).isoformat(),
        "body.patient.nhs_number": PATIENT["nhs_number"], "body.location": {"latitude": 53.80, "longitude": -1.55},
        "body.slot_id": free["book"], "body.hold_id": holds["book"], "body.cluster": CLUSTER,
        "body.registered_practice": "X00001"},
    "GET /api/v1/triage/availability": {"query.disposition": "Dx75"},
    "DELETE /api/v1/holds/{id}": {"path.id": hold or "no-hold"},
    "POST /api/v1/slots/{id}/hold": {"path.id": free["hold"]},
    "PUT /api/v1/slots/{id}/channel": {"path.id": free["channel"], "body.practice": None},
    "GET /api/v1/slots/{id}/visibility": {"path.id": free["visibility"]},
    "GET /api/v1/sites/{id}/day-list": {"path.id": hub["id"]},
    "GET /api/v1/clusters/{code}/practices/{id}": {**C, "path.id": home["id"]},
    "PATCH /api/v1/clusters/{code}/practices/{id}": {**C, "path.id": own_practice["id"], "body.site_id": None},
    "POST /api/v1/clusters/{code}/practices": {**C, "body.site_id": None},
    "GET /api/v1/clusters/{code}/sites/{id}": {**C, "path.id": hub["id"]},
    "PATCH /api/v1/clusters/{code}/sites/{id}": {**C, "path.id": own_site["id"]},
    "GET /api/v1/clusters/{code}/services/{id}": {**C, "path.id": services[0]["id"]},
    "PATCH /api/v1/clusters/{code}/services/{id}": {**C, "path.id": own_service["id"]},
    "GET /api/v1/clusters/{code}/users/{id}": {**C, "path.id": own_user["id"]},
    "PATCH /api/v1/clusters/{code}/users/{id}": {**C, "path.id": own_user["id"]},
    # A receptionist, the one role with a practice.
    "POST /api/v1/clusters/{code}/users": {**C, "body.role": "receptionist", "body.practice_id": home["id"]},
    "GET /api/v1/clusters/{code}/webhooks/{id}": {**C, "path.id": own_webhook["id"]},
    "PATCH /api/v1/clusters/{code}/webhooks/{id}": {**C, "path.id": own_webhook["id"]},
    "GET /api/v1/clusters/{code}/webhooks/{id}/deliveries": {**C, "path.id": own_webhook["id"]},
    "POST /api/v1/clusters/{code}/webhooks": {**C, "body.url": "https://hooks.example.org/more"},
    "GET /api/v1/clusters/{code}/rotas/{id}": {**C, "path.id": rota["id"]},
    "PUT /api/v1/clusters/{code}/rotas/{id}": {**C, "path.id": own_rota["id"], "body.templates": rota_whole["templates"]},
    "POST /api/v1/clusters/{code}/rotas": {**C, "body.templates": rota_whole["templates"]},
    "POST /api/v1/clusters/{code}/rotas/{id}/publish": {
        **C, "path.id": own_rota["id"], "body.from": today.isoformat(),
        "body.to": (today + dt.timedelta(days=6)).isoformat(), "body.dry_run": True},
    "POST /api/v1/clusters/{code}/rotas/{id}/withdraw": {
        **C, "path.id": own_rota["id"], "body.from": today.isoformat(),
        "body.to": (today + dt.timedelta(days=6)).isoformat(), "body.dry_run": True},
    "GET /api/v1/clusters/{code}/sessions/{id}": {**C, "path.id": spare[0]},
    "PATCH /api/v1/clusters/{code}/sessions/{id}": {**C, "path.id": spare[1]},
    "POST /api/v1/clusters/{code}/sessions/{id}/cancel": {**C, "path.id": spare[2]},
    "POST /api/v1/clusters/{code}/rebooking/{id}/resolve": {
        **C, "path.id": rebook["id"] if rebook else "no-rebooking"},
    "GET /api/v1/integrations/{id}": {"path.id": integration["id"]},
    "PATCH /api/v1/integrations/{id}": {"path.id": integration["id"]},
    "GET /api/v1/integrations/{id}/certificates": {"path.id": integration["id"]},
    "POST /api/v1/integrations/{id}/certificates": {"path.id": integration["id"], "body.certificate": second_pem},
    "DELETE /api/v1/integrations/{id}/certificates/{sha256}": {
        "path.id": integration["id"], "path.sha256": certificate},
    "GET /api/v1/integrations/{id}/secrets": {"path.id": integration["id"]},
    "POST /api/v1/integrations/{id}/secrets": {"path.id": integration["id"]},
    "DELETE /api/v1/integrations/{id}/secrets/{secret_id}": {"path.id": integration["id"], "path.secret_id": secret},
    "POST /api/v1/integrations": {"body.clusters": [CLUSTER], "body.practice": None},
    "GET /api/v1/dispositions/{code}": {"path.code": "Dx75"},
    "POST /api/v1/auth/token": {"body." + k: v for k, v in form.items()},
    "GET /api/v1/clusters/{code}/reports/{name}": {
        **C, "query.from": today.isoformat(), "query.to": (today + dt.timedelta(days=27)).isoformat()},
    "GET /api/v1/clusters/{code}/reports/fair-share": {
        **C, "query.from": today.isoformat(), "query.to": (today + dt.timedelta(days=27)).isoformat()},
    "PATCH /api/v1/dispositions/{code}": {"path.code": disposition["code"], "body.services": [services[0]["code"]]},
    "POST /api/v1/dispositions": {"body.services": [services[0]["code"]]},
}


def toml(value):
    """A TOML value (JSON's strings, numbers and arrays are TOML's; objects become inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        # TOML has no null: an absent field reads as null.
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items() if v is not None) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return json.dumps(value)


# One whole valid request per operation that takes a body, with the rows above: the examples
# phase sends it first (hooks.py adds it), so that each operation the role may call answers 2xx
# at least once however the generated cases fare; fuzzing then varies every field freely.
soon_name = f"Fixture {tag}"
bodies = {
    "POST /api/v1/auth/token": form,
    "POST /api/v1/appointments": {
        "slot_id": free["book"], "patient": next(patients), "hold_id": holds["book"],
        "on_behalf_of": "X00001" if ROLE == "cluster_manager" else None},
    "PATCH /api/v1/appointments/{id}": {"notes": "Prefers a morning call back"},
    "POST /api/v1/appointments/{id}/cancel": {"reason": "Patient rang to cancel"},
    "POST /api/v1/appointments/{id}/outcome": {"outcome": "arrived"},
    "POST /api/v1/appointments/{id}/reschedule": {"slot_id": free["move_to"], "hold_id": holds["move_to"]},
    "POST /api/v1/triage/bookings": {
        "disposition": "Dx75", "triaged_at": now.replace(microsecond=0).isoformat(),
        "patient": next(patients), "location": {"latitude": 53.80, "longitude": -1.55},
        "slot_id": free["book"], "hold_id": holds["book"]},
    "PUT /api/v1/slots/{id}/channel": {"channel": "open"},
    "POST /api/v1/clusters": {"code": f"Q{tag.upper()}", "name": soon_name},
    "PATCH /api/v1/clusters/{code}": {"name": "Demo Valley PCN"},
    "POST /api/v1/clusters/{code}/practices": {
        "ods_code": f"Y{uuid.uuid4().int % 100000:05d}", "name": soon_name, "list_size": 3000},
    "PATCH /api/v1/clusters/{code}/practices/{id}": {"list_size": 2100},
    "POST /api/v1/clusters/{code}/sites": {
        "name": soon_name, "kind": "surgery", "address": "10 Fixture Row, Leeds", "postcode": "LS2 7AA",
        "latitude": 53.80, "longitude": -1.55},
    "PATCH /api/v1/clusters/{code}/sites/{id}": {"address": "11 Fixture Row, Leeds"},
    "POST /api/v1/clusters/{code}/services": {"code": f"more-{tag}", "name": soon_name, "clinical_role": "gp"},
    "PATCH /api/v1/clusters/{code}/services/{id}": {"name": soon_name},
    "POST /api/v1/clusters/{code}/users": {
        "username": f"more-{tag}", "display_name": soon_name, "password": "fixture-password-2",
        "role": "receptionist", "practice_id": home["id"]},
    "PATCH /api/v1/clusters/{code}/users/{id}": {"display_name": soon_name},
    "POST /api/v1/clusters/{code}/webhooks": {"url": "https://hooks.example.org/more"},
    "PATCH /api/v1/clusters/{code}/webhooks/{id}": {"active": False},
    "POST /api/v1/clusters/{code}/rotas": {"name": soon_name, "templates": rota_whole["templates"]},
    "PUT /api/v1/clusters/{code}/rotas/{id}": {"name": soon_name, "templates": rota_whole["templates"]},
    "POST /api/v1/clusters/{code}/rotas/{id}/publish": {
        "from": today.isoformat(), "to": (today + dt.timedelta(days=6)).isoformat(), "dry_run": True},
    "POST /api/v1/clusters/{code}/rotas/{id}/withdraw": {
        "from": today.isoformat(), "to": (today + dt.timedelta(days=6)).isoformat(), "dry_run": True},
    "PATCH /api/v1/clusters/{code}/sessions/{id}": {"clinician": "Dr Ada Example"},
    "POST /api/v1/clusters/{code}/sessions/{id}/cancel": {"reason": "Clinician unwell"},
    "POST /api/v1/clusters/{code}/rebooking/{id}/resolve": {"resolution": "keep", "note": "Patient will attend"},
    "PUT /api/v1/clusters/{code}/sharing": {"apportionment": True},
    "POST /api/v1/dispositions": {
        "code": f"Fy{tag}", "description": soon_name, "timeframe_minutes": 240, "delivery": "telephone",
        "services": [services[0]["code"]]},
    "PATCH /api/v1/dispositions/{code}": {"description": "Fixture disposition, reworded"},
    "POST /api/v1/integrations": {"name": soon_name, "clusters": [CLUSTER]},
    "PATCH /api/v1/integrations/{id}": {"name": soon_name},
    "POST /api/v1/integrations/{id}/certificates": {"certificate": second_pem},
    "POST /api/v1/integrations/{id}/secrets": {"previous_valid_minutes": 60},
}
examples = {}
for name, parameters in settings.items():
    request = {"path_parameters": {}, "query": {}}
    for key, value in parameters.items():
        location, _, field = key.partition(".")
        if location in ("path", "query"):
            request[location if location == "query" else "path_parameters"][field] = value
    if name in bodies:
        request["body"] = {k: v for k, v in bodies.pop(name).items() if v is not None}
    if "{name}" in name:
        request["path_parameters"]["name"] = "utilisation"
    examples[name] = request
for name, body in bodies.items():
    examples[name] = {"path_parameters": {"code": CLUSTER} if "{code}" in name else {},
                      "query": {}, "body": {k: v for k, v in body.items() if v is not None}}
with open(sys.argv[3], "w") as f:
    json.dump(examples, f, indent=1)

# Every other operation of the cluster's paths, after the specific ones (the first that names
# parameters gives them all).
settings["cluster"] = C
print(open(__file__.rsplit("/", 1)[0] + "/schemathesis.toml").read())
print(f"# Pointed at the rows tests/schemathesis/fixtures.py made for the {ROLE}.")
for name, parameters in settings.items():
    print("\n[[operations]]")
    if name == "cluster":
        print('include-path-regex = "^/api/v1/clusters/\\\\{code\\\\}"')
    else:
        print(f"include-name = {json.dumps(name)}")
    # A top-level field to leave empty is left to the generator instead.
    print("parameters = " + toml(parameters))
