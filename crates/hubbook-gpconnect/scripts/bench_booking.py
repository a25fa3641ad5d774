#!/usr/bin/env python3
"""GP Connect booking against the JSON API's, on the same server, slots and practice.

A practice's own system books as the practice two ways, each round: through GP
Connect (`POST /Appointment`, then `PUT /Appointment/{id}` to cancel, with a TLS client
certificate, Spine headers and JWT; every call audited) and through the JSON API as the
practice's receptionist (`POST /api/v1/appointments`, then `POST .../cancel`). Each of --clients
keep-alive connections books and cancels slots of its own (--slots-per-client, in turn) for
patients of its own (--patients-per-client, in turn), so every cycle books a free slot and no
slot or patient gathers thousands of cancelled bookings (each booking's same-day check reads the
patient's bookings of that day, cancelled ones too); a cycle is one booking and one
cancellation. The way that goes first alternates round by round, as the database grows. It
prints cycles a second, the p50 and p99 of the booking alone, the ratio of GP Connect to the API
each round and their mean. Compare ratios within one run: the machines are shared.

Needs a server started with --tls-cert, --tls-key and --tls-client-ca, and a second client
certificate (see the README's GP Connect section for how the first is made): the script creates
an integration bound to --practice-ods as --manager and registers --cert to it, so give it a
certificate not registered yet.

    python3 crates/hubbook-gpconnect/scripts/bench_booking.py --base https://127.0.0.1:8443 \\
        --ca ca.pem --cert practice.pem --key practice.key --practice-ods X00001

Standard library only.
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_slots import b64, compare, percentile  # noqa: E402

PROFILE = "https://fhir.nhs.uk/STU3/StructureDefinition/"
NHS = "https://fhir.nhs.uk/Id/nhs-number"
PREFIX = "urn:nhs:names:services:gpconnect:fhir:"


def jwt(scope):
    now = int(time.time())
    claims = {
        "iss": "https://consumer.example", "sub": "1", "aud": "https://authorize.fhir.nhs.net/token",
        "iat": now, "exp": now + 300, "reason_for_request": "directcare", "requested_scope": scope,
        "requesting_device": {"resourceType": "Device", "model": "bench", "version": "1"},
        "requesting_organization": {"resourceType": "Organization", "identifier": [
            {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A20047"}]},
        "requesting_practitioner": {"resourceType": "Practitioner", "id": "1"},
    }
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def nhs_number(n):
    """The n-th valid NHS number of the 999 range (test numbers)."""
    while True:
        digits = f"999{n:06d}"
        total = sum(int(d) * (10 - i) for i, d in enumerate(digits))
        check = 11 - total % 11
        n += 1
        if check == 11:
            return digits + "0", n
        if check != 10:
            return digits + str(check), n


class Connection:
    def __init__(self, args, context):
        split = urllib.parse.urlsplit(args.base)
        self.conn = http.client.HTTPSConnection(split.hostname, split.port, context=context,
                                                timeout=60)

    def call(self, method, path, headers, body=None):
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        return response.status, (json.loads(raw) if raw else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="https://127.0.0.1:8443")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--practice-ods", default="X00001")
    parser.add_argument("--cluster", default="U00001")
    parser.add_argument("--manager", default="manager")
    parser.add_argument("--receptionist", default="reception-x00001")
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--asid", default="999999999999")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slots-per-client", type=int, default=10)
    parser.add_argument("--patients-per-client", type=int, default=200)
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    setup = Connection(args, context)

    def token(username):
        status, body = setup.call("POST", "/api/v1/auth/token", {"Content-Type": "application/json"},
                                  {"grant_type": "password", "username": username,
                                   "password": args.password})
        assert status == 200, body
        return body["access_token"]

    manager, receptionist = token(args.manager), token(args.receptionist)
    auth = lambda t: {"Authorization": f"Bearer {t}", "Content-Type": "application/json"}  # noqa: E731
    status, created = setup.call("POST", "/api/v1/integrations", auth(manager), {
        "name": f"Bench practice system {uuid.uuid4().hex[:6]}", "clusters": [args.cluster],
        "practice": args.practice_ods})
    assert status == 201, created
    with open(args.cert) as f:
        status, body = setup.call("POST", f"/api/v1/integrations/{created['id']}/certificates",
                                  auth(manager), {"certificate": f.read()})
    assert status == 201, body

    def gpc_headers(interaction, scope):
        return {"Ssp-TraceID": str(uuid.uuid4()), "Ssp-From": "200000000359", "Ssp-To": args.asid,
                "Ssp-InteractionID": PREFIX + interaction, "Authorization": f"Bearer {jwt(scope)}",
                "Accept": "application/fhir+json", "Content-Type": "application/fhir+json"}

    # The practice's free slots from tomorrow, --slots-per-client for each client.
    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    end = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400 * 8))
    status, bundle = setup.call(
        "GET", f"/gpconnect/fhir/Slot?start=ge{start}&end=le{end}&status=free&_include=Slot:schedule",
        gpc_headers("rest:search:slot-1", "organization/*.read"))
    assert status == 200, bundle
    resources = [e["resource"] for e in bundle.get("entry", [])]
    location = {f"Schedule/{r['id']}": r["actor"][0]["reference"]
                for r in resources if r["resourceType"] == "Schedule"}
    wanted = args.clients * args.slots_per_client
    free = [r for r in resources if r["resourceType"] == "Slot"][:wanted]
    assert len(free) == wanted, f"only {len(free)} free slots for {wanted}"
    slots = [free[i::args.clients] for i in range(args.clients)]

    # --patients-per-client for each client, registered with the practice's system.
    patients, n = [], 100
    for _ in range(args.clients * args.patients_per_client):
        number, n = nhs_number(n)
        patients.append(number)
        status, body = setup.call("POST", "/gpconnect/fhir/Patient/$gpc.registerpatient",
                                  gpc_headers("operation:gpc.registerpatient-1", "patient/*.write"),
                                  {"resourceType": "Parameters", "parameter": [
                                      {"name": "registerPatient", "resource": {
                                          "resourceType": "Patient",
                                          "identifier": [{"system": NHS, "value": number}],
                                          "name": [{"use": "official", "family": "Bench", "given": ["Pat"]}],
                                          "birthDate": "1980-01-01",
                                          "telecom": [{"system": "phone", "value": "0113 496 0000"}]}}]})
        assert status == 200, body
    patients = [patients[i::args.clients] for i in range(args.clients)]

    def gpc_cycle(conn, i, j):
        slot, patient = slots[i][j % len(slots[i])], patients[i][j % len(patients[i])]
        body = {
            "resourceType": "Appointment",
            "meta": {"profile": [PROFILE + "GPConnect-Appointment-1"]},
            "contained": [{"resourceType": "Organization", "id": "1",
                           "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code",
                                           "value": args.practice_ods}],
                           "name": "Bench Surgery", "telecom": [{"system": "phone", "value": "0113 496 0001"}]}],
            "extension": [{"url": PROFILE + "Extension-GPConnect-BookingOrganisation-1",
                           "valueReference": {"reference": "#1"}}],
            "status": "booked", "description": "Benchmark", "start": slot["start"], "end": slot["end"],
            "slot": [{"reference": f"Slot/{slot['id']}"}], "created": slot["start"],
            "participant": [{"actor": {"reference": f"Patient/{patient}"}, "status": "accepted"},
                            {"actor": {"reference": location[slot["schedule"]["reference"]]},
                             "status": "accepted"}]}
        started = time.perf_counter()
        status, booked = conn.call("POST", "/gpconnect/fhir/Appointment",
                                   gpc_headers("rest:create:appointment-1", "patient/*.write"), body)
        took = (time.perf_counter() - started) * 1000
        assert status == 201, booked
        booked["status"] = "cancelled"
        booked["extension"].append({"url": PROFILE + "Extension-GPConnect-AppointmentCancellationReason-1",
                                    "valueString": "Benchmark"})
        status, body = conn.call("PUT", f"/gpconnect/fhir/Appointment/{booked['id']}",
                                 gpc_headers("rest:cancel:appointment-1", "patient/*.write"), booked)
        assert status == 200, body
        return took

    def api_cycle(conn, i, j):
        slot, patient = slots[i][j % len(slots[i])], patients[i][j % len(patients[i])]
        headers = {**auth(receptionist), "Idempotency-Key": str(uuid.uuid4())}
        started = time.perf_counter()
        status, booked = conn.call("POST", "/api/v1/appointments", headers, {
            "slot_id": slot["id"], "reason": "Benchmark",
            "patient": {"nhs_number": patient, "name": "Pat Bench", "birth_date": "1980-01-01",
                        "phone": "0113 496 0000"}})
        took = (time.perf_counter() - started) * 1000
        assert status == 201, booked
        status, body = conn.call("POST", f"/api/v1/appointments/{booked['id']}/cancel",
                                 auth(receptionist), {"reason": "Benchmark"})
        assert status == 200, body
        return took

    def run(cycle):
        latencies, lock, stop = [], threading.Lock(), time.monotonic() + args.seconds

        def client(i):
            conn, mine = Connection(args, context), []
            while time.monotonic() < stop:
                mine.append(cycle(conn, i, len(mine)))
            with lock:
                latencies.extend(mine)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return len(latencies) / args.seconds, percentile(latencies, 0.5), percentile(latencies, 0.99)

    print(f"{args.clients} clients, each booking and cancelling its own slot; {args.seconds:.0f} s a way,"
          f" {args.rounds} rounds")
    compare(args.rounds, (("api", lambda: run(api_cycle)), ("gp-connect", lambda: run(gpc_cycle))),
            "cycles/s", "book p50 ms", "book p99 ms", "booking cycles",
            "book p99 (API's over GP Connect's)")

if __name__ == "__main__":
    main()
