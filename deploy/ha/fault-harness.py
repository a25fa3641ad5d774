#!/usr/bin/env python3
"""The fault harness: hubbook on a highly available PostgreSQL, under faults, checked afterwards.

Three `hubbook serve` processes share one database (the pg_auto_failover pair of
deploy/ha/pg-ha.sh). K clients hold, book, reschedule and cancel on a small hot pool of slots,
each booking with its own Idempotency-Key, each request sent to the next process in turn (as a
load balancer would), and every invocation is logged with its outcome: ok (2xx), refused (4xx)
or unknown (5xx, timeout, no connection). A webhook receiver of the harness's own takes every
cluster's events. Meanwhile the harness injects, in order: kill -9 of a hubbook process (started
again 3 s later), kill -9 of the PostgreSQL primary's postmaster, a fast restart of the primary
(as an operator's: every session ended with 57P01), a planned switchover (pg_autoctl perform
switchover) and SIGSTOP of a hubbook process for twice its lease.

Afterwards it checks, and fails (exit 1) unless each holds:
  - no slot has two live appointments;
  - every booking answered 2xx exists;
  - every unknown booking, retried with the same key, resolves to exactly one booking or none
    (never two), consistently with the retry's answer;
  - every event of each cluster reached the receiver, in feed order, none missing (duplicates are
    counted, not failed: delivery is at least once);
  - each cluster's event sequence has no gaps;
  - no answer was a 500 and none took longer than the request timeout.
It prints the figures (operations attempted, acknowledged, refused, unknown; faults; bookings lost;
double bookings; events lost and duplicated; seconds unavailable per fault and the status codes
clients saw meanwhile) and writes them, with the whole log, as JSON.

Standard library only. Loopback only; bounded in time (about three minutes with the HA set-up).

  deploy/ha/fault-harness.py --hubbook target/debug/hubbook [--seconds 90] [--clients 12]
"""

import argparse
import datetime as dt
import http.client
import http.server
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HA = os.path.join(HERE, "pg-ha.sh")
SECRET = "fault-harness-secret-that-is-long-enough-0123456789"
PASSWORD = "seed-password"
TIMEOUT = 10.0  # the clients' request timeout, seconds


def log(*parts):
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def ha(*args):
    return subprocess.run([HA, *args], check=True, capture_output=True, text=True).stdout.strip()


def run(*command):
    """Runs a command; on failure, shows what it printed and stops the harness."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:2])} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def psql(url, sql):
    """Rows of a query on the current primary, as lists of strings."""
    out = subprocess.run(
        ["psql", url, "-AtF", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nhs_number(n):
    """The nth patient's NHS number: of the 999 range (never issued), with a valid check digit.
    Of ten numbers in a row at most one has none, so one of n*10 .. n*10+9 serves."""
    for suffix in range(n * 10, n * 10 + 10):
        digits = f"999{suffix:06d}"
        check = 11 - sum(int(d) * (10 - i) for i, d in enumerate(digits)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return digits + str(check)
    raise ValueError(n)


# --- the hubbook processes --------------------------------------------------------------------

class Server:
    """One `hubbook serve` process on a fixed port, which can be killed and started again."""

    def __init__(self, index, binary, url, port, lease_ms, logdir):
        self.index, self.binary, self.url, self.port = index, binary, url, port
        self.lease_ms, self.logdir = lease_ms, logdir
        self.base = f"127.0.0.1:{port}"
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        logfile = open(os.path.join(self.logdir, f"hubbook-{self.index}-{self.starts}.log"), "w")
        env = dict(os.environ, HUBBOOK_JWT_SECRET=SECRET, HUBBOOK_TOKEN_TTL="3600")
        self.proc = subprocess.Popen(
            [self.binary, "--log-format", "json", "serve", "--database-url", self.url,
             "--bind", self.base, "--events-interval-ms", "200", "--webhook-backoff-ms", "200",
             "--work-lease-ms", str(self.lease_ms), "--pool-size", "8", "--workers", "2"],
            stdout=logfile, stderr=logfile, env=env,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _, _ = request(self.base, "GET", "/health/ready", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"hubbook {self.index} did not become ready")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def request(base, method, path, body=None, token=None, headers=None, timeout=TIMEOUT):
    host, port = base.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        sent = {"Accept": "application/json"}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body)
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, parsed, dict(response.getheaders())
    finally:
        conn.close()


# --- the webhook receiver ---------------------------------------------------------------------

class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = []  # (cluster code, event id)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    event = json.loads(body)
                    with receiver.lock:
                        receiver.events.append((event.get("cluster"), self.headers["Hubbook-Event-Id"]))
                    self.send_response(204)
                except (ValueError, KeyError):
                    self.send_response(400)
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# --- the clients ------------------------------------------------------------------------------

class Log:
    def __init__(self, started):
        self.started = started
        self.lock = threading.Lock()
        self.entries = []

    def add(self, **entry):
        with self.lock:
            self.entries.append(entry)


def outcome_of(status):
    if status is None or status >= 500:
        return "unknown"
    if 200 <= status < 300:
        return "ok"
    return "refused"


class Client(threading.Thread):
    def __init__(self, number, servers, token, pool, log, deadline, patients):
        super().__init__(daemon=True)
        self.number, self.servers, self.token, self.pool = number, servers, token, pool
        self.log, self.deadline, self.patients = log, deadline, patients
        self.turn = number
        self.booked = []  # appointment ids this client holds
        self.random = random.Random(number)
        self.unknown_bookings = []
        self.crashed = None

    def call(self, op, method, path, body=None, headers=None, key=None):
        server = self.servers[self.turn % len(self.servers)]
        self.turn += 1
        started = time.time()
        status, reply, error, answer_headers = None, None, None, {}
        try:
            status, reply, answer_headers = request(server.base, method, path, body, self.token, headers)
        except (OSError, http.client.HTTPException) as e:
            error = type(e).__name__
        ended = time.time()
        self.log.add(client=self.number, op=op, server=server.index, key=key,
                     t=round(started - self.log.started, 3), seconds=round(ended - started, 3),
                     status=status, error=error, outcome=outcome_of(status),
                     problem=(reply or {}).get("type") if isinstance(reply, dict) else None)
        if status == 503:
            time.sleep(min(float(answer_headers.get("Retry-After", "1") or 1), 1.0))
        elif status is None:
            time.sleep(0.2)
        return status, reply

    def run(self):
        try:
            self.work()
        except Exception as e:  # a harness fault, not hubbook's: reported and failed
            self.crashed = repr(e)
            log(f"client {self.number} stopped:", repr(e))

    def work(self):
        n = 0
        while time.time() < self.deadline:
            n += 1
            roll = self.random.random()
            if self.booked and roll < 0.25:
                appointment = self.booked.pop(self.random.randrange(len(self.booked)))
                status, _ = self.call("cancel", "POST", f"/api/v1/appointments/{appointment}/cancel",
                                      {"reason": "the patient cannot come"}, {"If-Match": "*"})
                if status is not None and status >= 500 or status is None:
                    self.booked.append(appointment)  # unknown: it may still be live
            elif self.booked and roll < 0.4:
                appointment = self.booked.pop(self.random.randrange(len(self.booked)))
                slot = self.random.choice(self.pool)
                status, reply = self.call("reschedule", "POST",
                                          f"/api/v1/appointments/{appointment}/reschedule",
                                          {"slot_id": slot})
                if status == 200 and isinstance(reply, dict) and reply.get("id"):
                    self.booked.append(reply["id"])
                else:
                    self.booked.append(appointment)
            else:
                slot = self.random.choice(self.pool)
                status, hold = self.call("hold", "POST", f"/api/v1/slots/{slot}/hold")
                patient_n = self.patients()
                body = {"slot_id": slot, "patient": {
                    "nhs_number": nhs_number(patient_n), "name": f"Harness Patient {patient_n}",
                    "birth_date": "1970-01-01", "phone": "0113 496 0000"}}
                if status == 201 and isinstance(hold, dict):
                    body["hold_id"] = hold["hold_id"]
                key = f"harness-{self.number}-{n}"
                status, reply = self.call("book", "POST", "/api/v1/appointments", body,
                                          {"Idempotency-Key": key}, key=key)
                if status == 201 and isinstance(reply, dict):
                    self.booked.append(reply["id"])
                    self.log.add(client=self.number, op="acknowledged", key=key,
                                 appointment=reply["id"], nhs=body["patient"]["nhs_number"])
                elif outcome_of(status) == "unknown":
                    self.unknown_bookings.append((key, body))


# --- the run ----------------------------------------------------------------------------------

def monday_of_this_week():
    today = dt.date.today()
    return today - dt.timedelta(days=today.weekday())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hubbook", required=True, help="the hubbook binary")
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--lease-ms", type=int, default=3000)
    parser.add_argument("--out", default="target/faults")
    parser.add_argument("--no-faults", action="store_true", help="the same run, no faults")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    url = ha("uri")

    log("migrating and seeding", url)
    run(args.hubbook, "migrate", "--database-url", url)
    run(args.hubbook, "seed", "--database-url", url, "--clusters", "2", "--weeks", "2",
        "--start", monday_of_this_week().isoformat(), "--password", PASSWORD)

    receiver = Receiver()
    ports = [free_port() for _ in range(3)]
    servers = [Server(i, args.hubbook, url, p, args.lease_ms, args.out) for i, p in enumerate(ports)]
    for s in servers:
        s.start()
    base = servers[0].base

    def sign_in(username):
        status, reply, _ = request(base, "POST", "/api/v1/auth/token",
                                   {"grant_type": "password", "username": username, "password": PASSWORD})
        assert status == 200, (username, status, reply)
        return reply["access_token"]

    clusters = {}
    for row in psql(url, "SELECT id, code FROM clusters ORDER BY code"):
        clusters[row[1]] = row[0]
    # A webhook per cluster, from the feed's end now; where each begins is read back.
    for n, code in enumerate(sorted(clusters), start=1):
        manager = sign_in(f"mgr-{n:05d}")
        status, reply, _ = request(base, "POST", f"/api/v1/clusters/{code}/webhooks",
                                   {"url": f"http://127.0.0.1:{receiver.port}/hook"}, manager)
        assert status == 201, (status, reply)
    begins = {code: int(seq) for code, seq in psql(
        url, "SELECT c.code, w.delivered_seq FROM webhooks w JOIN clusters c ON c.id = w.cluster_id")}

    # The hot pool: up to twelve slots per cluster, free now, on the first weekday at least two
    # days ahead on which every cluster offers six or more (the seeded rotas and bookings leave
    # some days with fewer: on the seed of 2026-11-30, Friday 4 December offered 2 in N00001).
    tokens = {}
    for n, code in enumerate(sorted(clusters), start=1):
        tokens[code] = [sign_in(f"rcp-{n:05d}-{p}") for p in range(1, 4)]
    seeded_to = monday_of_this_week() + dt.timedelta(weeks=2)
    day, pools, seen = dt.date.today() + dt.timedelta(days=2), None, []
    while day < seeded_to:
        if day.weekday() < 5:
            offered = {}
            for code in sorted(clusters):
                status, reply, _ = request(
                    base, "GET", f"/api/v1/slots?from={day}T00:00:00Z&to={day}T23:59:59Z&limit=200",
                    token=tokens[code][0])
                assert status == 200, (status, reply)
                offered[code] = [o["slot_id"] for o in reply["items"]][:12]
            seen.append((day.isoformat(), {code: len(ids) for code, ids in offered.items()}))
            if all(len(ids) >= 6 for ids in offered.values()):
                pools = offered
                break
        day += dt.timedelta(days=1)
    assert pools is not None, f"no seeded weekday offers six free slots in every cluster: {seen}"
    log("hot pool on", day.isoformat(), {code: len(ids) for code, ids in pools.items()})

    counter = iter(range(1, 10_000_000))
    counter_lock = threading.Lock()

    def next_patient():
        with counter_lock:
            return next(counter)

    started = time.time()
    deadline = started + args.seconds
    oplog = Log(started)
    codes = sorted(clusters)
    clients = []
    for i in range(args.clients):
        code = codes[i % len(codes)]
        clients.append(Client(i, servers, tokens[code][i % 3], pools[code], oplog, deadline, next_patient))
    for c in clients:
        c.start()

    faults = []

    def at(offset):
        time.sleep(max(0.0, started + offset - time.time()))

    def fault(name, action):
        t = time.time() - started
        log("fault:", name)
        detail = action()
        faults.append({"fault": name, "t": round(t, 3), "detail": detail})

    if not args.no_faults:
        span = args.seconds
        at(span * 0.10)
        fault("kill -9 of hubbook process 1", lambda: servers[1].kill())
        time.sleep(3)
        servers[1].start()
        at(span * 0.25)
        def kill_primary():
            port = ha("primary-port")
            os.kill(int(ha("primary-pid")), signal.SIGKILL)
            return f"the primary on port {port}"

        def switchover():
            before = ha("primary-port")
            ha("switchover")
            return f"from port {before} to {ha('primary-port')}"

        def restart_primary():
            port = ha("primary-port")
            ha("restart-primary")
            return f"the primary on port {port}; primary now on {ha('primary-port')}"

        fault("kill -9 of the PostgreSQL primary", kill_primary)
        at(span * 0.42)
        fault("fast restart of the PostgreSQL primary", restart_primary)
        at(span * 0.60)
        fault("planned switchover", switchover)
        at(span * 0.80)
        # Twice the lease, but short of the clients' timeout, so that a stop is not a hang.
        stop_for = min(2 * args.lease_ms / 1000, TIMEOUT - 2)
        fault(f"SIGSTOP of hubbook process 2 for {stop_for:.0f} s", lambda: servers[2].proc.send_signal(signal.SIGSTOP))
        time.sleep(stop_for)
        servers[2].proc.send_signal(signal.SIGCONT)
    for c in clients:
        c.join()
    log("load over; checking")

    # Every unknown booking retried with its key, against a live process.
    unknown = [u for c in clients for u in c.unknown_bookings]
    token_of = {c.number: c.token for c in clients}
    resolutions = {"booked": 0, "not booked": 0, "two bookings": 0, "unresolved": 0}
    for c in clients:
        for key, body in c.unknown_bookings:
            answer = None
            for _ in range(20):
                try:
                    status, reply, _ = request(servers[0].base, "POST", "/api/v1/appointments", body,
                                               token_of[c.number], {"Idempotency-Key": key})
                except (OSError, http.client.HTTPException):
                    status = None
                if status is not None and status < 500:
                    answer = (status, reply)
                    break
                time.sleep(1)
            nhs, name = body["patient"]["nhs_number"], body["patient"]["name"]
            count = int(psql(url, f"SELECT count(*) FROM appointments WHERE nhs_number = '{nhs}' "
                                  f"AND patient_name = '{name}'")[0][0])
            if answer is None:
                resolutions["unresolved"] += 1
            elif count > 1:
                resolutions["two bookings"] += 1
            elif answer[0] == 201 and count == 1:
                resolutions["booked"] += 1
            elif answer[0] != 201 and count == 0:
                resolutions["not booked"] += 1
            else:
                resolutions["unresolved"] += 1

    entries = oplog.entries
    acknowledged = [e for e in entries if e["op"] == "acknowledged"]
    ids = [e["appointment"] for e in acknowledged]
    present = set()
    for chunk in range(0, len(ids), 500):
        quoted = ",".join(f"'{i}'" for i in ids[chunk:chunk + 500])
        if quoted:
            present |= {r[0] for r in psql(url, f"SELECT id FROM appointments WHERE id IN ({quoted})")}
    lost = [i for i in ids if i not in present]
    doubled = int(psql(url, "SELECT count(*) FROM (SELECT cluster_id, slot_id FROM appointments "
                            "WHERE status IN ('booked', 'arrived', 'seen') AND part_of IS NULL "
                            "GROUP BY cluster_id, slot_id HAVING count(*) > 1) d")[0][0])

    # Events: wait (at most two minutes) for the receiver to have every one.
    def expected_events():
        rows = psql(url, "SELECT c.code, e.id, e.seq FROM events e JOIN clusters c ON c.id = e.cluster_id "
                         "ORDER BY c.code, e.seq")
        out = {}
        for code, event_id, seq in rows:
            if int(seq) > begins.get(code, 0):
                out.setdefault(code, []).append(event_id)
        return out

    wait_until = time.time() + 120
    while True:
        expected = expected_events()
        with receiver.lock:
            got = set(receiver.events)
        if all((code, e) in got for code, ids_ in expected.items() for e in ids_) or time.time() > wait_until:
            break
        time.sleep(1)
    time.sleep(2)
    with receiver.lock:
        received = list(receiver.events)
    events_missing, events_duplicated, out_of_order = 0, 0, 0
    for code, wanted in expected.items():
        mine = [e for (c, e) in received if c == code]
        first_seen = list(dict.fromkeys(mine))
        events_duplicated += len(mine) - len(first_seen)
        events_missing += len(set(wanted) - set(first_seen))
        position = {e: i for i, e in enumerate(wanted)}
        order = [position[e] for e in first_seen if e in position]
        out_of_order += sum(1 for a, b in zip(order, order[1:]) if b < a)
    gaps = int(psql(url, "SELECT coalesce(sum(max - n), 0) FROM (SELECT cluster_id, max(seq) - min(seq) + 1 AS max, "
                         "count(*) AS n FROM events GROUP BY cluster_id) g")[0][0])

    # Availability: the longest time, between each fault and the next (or the end of the load),
    # in which no request succeeded (with a dozen clients busy, answers otherwise come every few
    # milliseconds), and what the requests that began or ended in that time were answered.
    calls = [e for e in entries if e["op"] in ("hold", "book", "cancel", "reschedule")]
    windows = []
    for n, f in enumerate(faults):
        until = faults[n + 1]["t"] if n + 1 < len(faults) else args.seconds
        done = sorted(e["t"] + e["seconds"] for e in calls
                      if e["outcome"] == "ok" and f["t"] < e["t"] + e["seconds"] <= until)
        points = [f["t"], *done, until]
        gap = max(zip(points, points[1:]), key=lambda p: p[1] - p[0], default=(f["t"], f["t"]))
        seen = {}
        for e in calls:
            if gap[0] <= e["t"] + e["seconds"] and e["t"] <= gap[1]:
                label = str(e["status"] or e["error"])
                seen[label] = seen.get(label, 0) + 1
        windows.append({**f, "unavailable_s": round(gap[1] - gap[0], 3),
                        "unavailable_from_s": round(gap[0] - f["t"], 3), "statuses_meanwhile": seen})
    statuses = {}
    for e in calls:
        label = str(e["status"] or e["error"])
        statuses[label] = statuses.get(label, 0) + 1
    five_hundreds = sum(1 for e in calls if e["status"] == 500)
    hangs = sum(1 for e in calls if e["seconds"] >= TIMEOUT)
    unavailable = [w["unavailable_s"] for w in windows
                   if "PostgreSQL" in w["fault"] or "switchover" in w["fault"]]
    report = {
        "seconds": args.seconds, "clients": args.clients, "processes": 3, "lease_ms": args.lease_ms,
        "operations": {"attempted": len(calls),
                       "ok": sum(1 for e in calls if e["outcome"] == "ok"),
                       "refused": sum(1 for e in calls if e["outcome"] == "refused"),
                       "unknown": sum(1 for e in calls if e["outcome"] == "unknown")},
        "bookings": {"attempted": sum(1 for e in calls if e["op"] == "book"),
                     "acknowledged": len(acknowledged), "unknown": len(unknown),
                     "unknown_resolved": resolutions, "acknowledged_lost": len(lost),
                     "double_bookings": doubled},
        "events": {"expected": sum(len(v) for v in expected.values()), "received": len(received),
                   "missing": events_missing, "duplicated": events_duplicated,
                   "out_of_order": out_of_order, "sequence_gaps": gaps},
        "faults": windows,
        "unavailable_per_failover_s": {"p50": statistics.median(unavailable) if unavailable else 0,
                                       "max": max(unavailable) if unavailable else 0},
        "statuses": statuses, "status_500": five_hundreds, "past_timeout": hangs,
    }
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump({**report, "log": entries}, f, indent=1)
    print(json.dumps(report, indent=2))
    for s in servers:
        s.stop()
    failures = []
    if doubled:
        failures.append(f"{doubled} slots with two live appointments")
    if lost:
        failures.append(f"{len(lost)} acknowledged bookings lost")
    if resolutions["two bookings"] or resolutions["unresolved"]:
        failures.append(f"unknown bookings not resolved to one: {resolutions}")
    if events_missing or out_of_order or gaps:
        failures.append(f"events: {events_missing} missing, {out_of_order} out of order, {gaps} gaps")
    if five_hundreds:
        failures.append(f"{five_hundreds} answers were 500")
    if hangs:
        failures.append(f"{hangs} requests took the whole timeout")
    crashed = [c.crashed for c in clients if c.crashed]
    if crashed:
        failures.append(f"harness clients stopped: {crashed}")
    if failures:
        print("FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("every check held", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
