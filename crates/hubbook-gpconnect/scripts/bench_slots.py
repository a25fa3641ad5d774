#!/usr/bin/env python3
"""GP Connect slot search against the JSON API's, on the same server, data and window.

A triage integration searches one window two ways, alternated round by round: `GET /Slot` as a
GP Connect consumer (TLS client certificate, Spine headers, JWT; every call audited), and
`GET /api/v1/slots` with its bearer token (the same use case underneath). Each round runs
--clients keep-alive connections for --seconds per way; it prints requests a second and the
client's p50 and p99 for each, and GP Connect as a fraction of the API (throughput, and the
API's p99 over GP Connect's: 1.0 is as good). Compare ratios within one run: the machines
are shared.

Needs a server started with --tls-cert, --tls-key and --tls-client-ca, and the consumer's
certificate registered to the integration (see the README's GP Connect section, whose commands
make ca.pem, consumer.pem and consumer.key and register it to the demo's `demo-111`):

    python3 crates/hubbook-gpconnect/scripts/bench_slots.py --base https://127.0.0.1:8443 \\
        --ca ca.pem --cert consumer.pem --key consumer.key --client-id demo-111 --secret demo-password

Standard library only.
"""

import argparse
import base64
import http.client
import json
import ssl
import threading
import time
import urllib.parse
import uuid


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def gp_connect_jwt():
    now = int(time.time())
    claims = {
        "iss": "https://consumer.example", "sub": "1", "aud": "https://authorize.fhir.nhs.net/token",
        "iat": now, "exp": now + 300, "reason_for_request": "directcare",
        "requested_scope": "organization/*.read",
        "requesting_device": {"resourceType": "Device", "model": "bench", "version": "1"},
        "requesting_organization": {"resourceType": "Organization", "identifier": [
            {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A20047"}]},
        "requesting_practitioner": {"resourceType": "Practitioner", "id": "1"},
    }
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def run(args, context, make_request, seconds):
    """Requests a second and latencies (ms) of --clients threads, each on one connection."""
    host, port = urllib.parse.urlsplit(args.base).hostname, urllib.parse.urlsplit(args.base).port
    latencies, errors, lock = [], [0], threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPSConnection(host, port, context=context, timeout=60)
        mine = []
        while time.monotonic() < stop:
            path, headers = make_request()
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors[0]:
        raise SystemExit(f"{errors[0]} answers were not 200")
    return len(latencies) / seconds, percentile(latencies, 0.5), percentile(latencies, 0.99)


def compare(rounds, ways, rate_name, p50_name, p99_name, ratio_name, p99_ratio_name):
    """Runs each way once a round, the API first in odd rounds and GP Connect first in even ones
    (so that a database growing round by round favours neither), printing each and two ratios,
    each "GP Connect as a fraction of the API" (1.0 is as good, the target is at least 0.8): GP
    Connect's rate over the API's, and the API's p99 over GP Connect's."""
    print(f"round  way          {rate_name:>9} {p50_name:>12} {p99_name:>12}")
    ratios = []
    for r in range(1, rounds + 1):
        results = {}
        for name, measure in (ways if r % 2 else tuple(reversed(ways))):
            results[name] = measure()
            rate, p50, p99 = results[name]
            print(f"{r:5}  {name:11} {rate:9.1f} {p50:12.2f} {p99:12.2f}")
        ratios.append((results["gp-connect"][0] / results["api"][0],
                       results["api"][2] / results["gp-connect"][2]))
    for r, (rate, p99) in enumerate(ratios, 1):
        print(f"round {r}: GP Connect as a fraction of the API: {ratio_name} {rate:.2f},"
              f" {p99_ratio_name} {p99:.2f}")
    print(f"mean of {rounds} rounds: {ratio_name} {sum(r for r, _ in ratios) / rounds:.2f},"
          f" {p99_ratio_name} {sum(p for _, p in ratios) / rounds:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="https://127.0.0.1:8443")
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-id", default="demo-111")
    parser.add_argument("--secret", default="demo-password")
    parser.add_argument("--asid", default="999999999999")
    parser.add_argument("--days", type=int, default=7, help="the window, from tomorrow")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    split = urllib.parse.urlsplit(args.base)
    conn = http.client.HTTPSConnection(split.hostname, split.port, context=context)
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": args.client_id,
                                   "client_secret": args.secret})
    conn.request("POST", "/api/v1/auth/token", body=form,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    token = json.loads(conn.getresponse().read())["access_token"]

    start = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    end = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400 * (1 + args.days)))
    gpc_path = (f"/gpconnect/fhir/Slot?start=ge{start}&end=le{end}&status=free"
                "&_include=Slot:schedule&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/"
                "GPConnect-OrganisationType-1%7Curgent-care")
    api_path = f"/api/v1/slots?from={start}T00:00:00Z&to={end}T23:59:59Z&limit=500"
    jwt = gp_connect_jwt()

    def gpc():
        return gpc_path, {
            "Ssp-TraceID": str(uuid.uuid4()), "Ssp-From": "200000000359", "Ssp-To": args.asid,
            "Ssp-InteractionID": "urn:nhs:names:services:gpconnect:fhir:rest:search:slot-1",
            "Authorization": f"Bearer {jwt}", "Accept": "application/fhir+json"}

    def api():
        return api_path, {"Authorization": f"Bearer {token}"}

    # One of each first, to show both answer and how many slots they hold.
    conn.request("GET", gpc()[0], headers=gpc()[1])
    bundle = json.loads(conn.getresponse().read())
    conn.request("GET", api()[0], headers=api()[1])
    page = json.loads(conn.getresponse().read())
    slots = sum(1 for e in bundle.get("entry", []) if e["resource"]["resourceType"] == "Slot")
    print(f"window {start}..{end}: GP Connect {slots} slots, API {len(page['items'])} slots "
          f"(first page); {args.clients} clients, {args.seconds:.0f} s a way, {args.rounds} rounds")
    compare(args.rounds, (("api", lambda: run(args, context, api, args.seconds)),
                          ("gp-connect", lambda: run(args, context, gpc, args.seconds))),
            "req/s", "p50 ms", "p99 ms", "throughput", "p99 (API's over GP Connect's)")

if __name__ == "__main__":
    main()
