"""A small closed-model load for the 111 endpoints, until hubbook-load has a triage scenario.

    python3 crates/hubbook-load/scripts/triage_load.py http://127.0.0.1:8080 8 15 availability
    python3 crates/hubbook-load/scripts/triage_load.py http://127.0.0.1:8080 8 15 book

Against `hubbook demo` (client demo-111, secret demo-password): N threads for S seconds calling
GET /triage/availability or POST /triage/bookings (Dx75, a new test patient each time); prints
throughput, latency percentiles (client-side, Python's own overhead included) and statuses.
"""
import json, sys, threading, time, urllib.request, datetime
BASE = sys.argv[1]; CONC = int(sys.argv[2]); SECS = float(sys.argv[3]); MODE = sys.argv[4]
def post(path, data, headers):
    req = urllib.request.Request(BASE + path, data=data, headers=headers, method="POST")
    return urllib.request.urlopen(req)
tok = json.load(post("/api/v1/auth/token", b"grant_type=client_credentials&client_id=demo-111&client_secret=demo-password",
                     {"Content-Type": "application/x-www-form-urlencoded"}))["access_token"]
lat = []; status = {}; lock = threading.Lock(); stop = time.time() + SECS; counter = [0]
def nhs(n):
    for k in range(10):
        nine = "999%06d" % (n * 10 + k)
        s = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1)))
        c = 11 - s % 11
        if c == 11: c = 0
        if c != 10: return nine + str(c)
def worker(w):
    while time.time() < stop:
        with lock:
            counter[0] += 1; n = counter[0]
        t0 = time.perf_counter()
        try:
            if MODE == "availability":
                req = urllib.request.Request(BASE + "/api/v1/triage/availability?disposition=Dx75&near=53.80,-1.55",
                                             headers={"Authorization": "Bearer " + tok})
                code = urllib.request.urlopen(req).status
            else:
                body = {"disposition": "Dx75", "triaged_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                        "patient": {"nhs_number": nhs(n), "name": "Load Patient", "birth_date": "1960-01-01", "phone": "0113 496 0000"},
                        "location": {"latitude": 53.80, "longitude": -1.55}}
                code = post("/api/v1/triage/bookings", json.dumps(body).encode(),
                            {"Authorization": "Bearer " + tok, "Content-Type": "application/json", "Idempotency-Key": "load-%d" % n}).status
        except urllib.error.HTTPError as e:
            code = e.code
        dt = (time.perf_counter() - t0) * 1000
        with lock:
            lat.append(dt); status[code] = status.get(code, 0) + 1
ts = [threading.Thread(target=worker, args=(i,)) for i in range(CONC)]
[t.start() for t in ts]; [t.join() for t in ts]
lat.sort(); q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"{MODE}: {len(lat)} requests in {SECS:.0f} s ({len(lat)/SECS:.0f}/s), p50 {q(.5):.1f} ms, p90 {q(.9):.1f} ms, p99 {q(.99):.1f} ms, max {lat[-1]:.1f} ms, statuses {status}")
