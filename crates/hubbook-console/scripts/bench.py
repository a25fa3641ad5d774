#!/usr/bin/env python3
"""Console benchmark: concurrent receptionists on a running hubbook demo.

Each virtual user signs in to the console as one of the demo's receptionists (round-robin, one
session each), then loops for --seconds: loads the search page for a patient (a fresh NHS number
from the 999 test range), holds one of the slots offered, loads the hold page and posts the
booking, as a browser without JavaScript would (full-page posts, redirects not followed).
With --search-only it only loads search pages (and books nothing). Reports p50, p90, p99 and
max of each step as the client saw it, the statuses, the bytes of HTML of a search page (with
slots offered, and with nothing free), then the server's own time per console route during the
run, from its /metrics histograms. The demo's receptionists book its week of shared slots in
seconds; later searches find nothing free. Run each against a fresh demo database:

    cargo build --release
    (cd "$(mktemp -d)" && "$OLDPWD/target/release/hubbook" demo --bind 127.0.0.1:18080 &)
    python3 crates/hubbook-console/scripts/bench.py --base-url http://127.0.0.1:18080 \
        --users 16 --seconds 20 [--search-only]

Standard library only.
"""

import argparse
import random
import re
import statistics
import threading
import time
import urllib.parse

from benchlib import Browser as Desk, form_fields, histogram_quantile, percentile, server_histograms

RECEPTIONISTS = [f"reception-x0000{i}" for i in range(1, 7)]


def nhs_number(rng):
    """A valid NHS number in the 999 test range (never a real patient's)."""
    while True:
        digits = [9, 9, 9] + [rng.randrange(10) for _ in range(6)]
        total = sum(d * w for d, w in zip(digits, range(10, 1, -1)))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, digits + [check]))


def run(args, index, until, results, lock):
    rng = random.Random(args.seed * 1000 + index)
    desk = Desk(args.host, args.port)
    user = RECEPTIONISTS[index % len(RECEPTIONISTS)]
    status, _, page, _ = desk.send("GET", "/sign-in")
    form = [(n, v) for n, v in form_fields(page.decode(), "/sign-in") if n == "csrf_token"]
    form += [("username", user), ("password", args.password)]
    status, location, _, _ = desk.send("POST", "/sign-in", form)
    if status != 303:
        raise SystemExit(f"{user} could not sign in: {status}")
    mine = {"search": [], "hold": [], "hold page": [], "book": [], "bytes": [], "statuses": {}}

    def note(step, status, took):
        mine[step].append(took)
        key = f"{step} {status}"
        mine["statuses"][key] = mine["statuses"].get(key, 0) + 1

    while time.monotonic() < until:
        patient = nhs_number(rng)
        status, _, page, took = desk.send("GET", f"/?nhs={patient}")
        note("search", status, took)
        text = page.decode()
        forms = [m.start() for m in re.finditer(r'action="/hold"', text)]
        mine["bytes"].append((len(page), len(forms)))
        if not forms or args.search_only:
            continue
        # Hold one of the first offers at random, as desks racing for slots would.
        chosen = text[forms[rng.randrange(min(len(forms), 5))] - 20:]
        hold = form_fields(chosen, "/hold")
        status, location, _, took = desk.send("POST", "/hold", hold)
        note("hold", status, took)
        if status != 303:
            continue
        status, _, page, took = desk.send("GET", location)
        note("hold page", status, took)
        if status != 200:
            # Two desks signed in as the same user: the later hold of a slot replaces the
            # earlier one, whose page is then gone.
            continue
        hold_id = location.split("/")[2].split("?")[0]
        action = f"/holds/{hold_id}/book"
        book = dict(form_fields(page.decode(), action) or [])
        book.update({"name": "Bench Testpatient", "birth_day": "1", "birth_month": "2",
                     "birth_year": "1970", "phone": "0113 496 0000"})
        status, _, _, took = desk.send("POST", action, list(book.items()))
        note("book", status, took)
    with lock:
        results.append(mine)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--password", default="demo-password")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--search-only", action="store_true",
                        help="only load search pages (books nothing, so the slots stay free)")
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.base_url)
    args.host, args.port = url.hostname, url.port or 80

    before = server_histograms(args.host, args.port)
    results, lock = [], threading.Lock()
    until = time.monotonic() + args.seconds
    threads = [threading.Thread(target=run, args=(args, i, until, results, lock))
               for i in range(args.users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    print(f"{args.users} receptionists, {args.seconds:g} s, {args.base_url}")
    print(f"{'step':<10} {'count':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for step in ["search", "hold", "hold page", "book"]:
        values = [v for r in results for v in r[step]]
        if not values:
            continue
        print(f"{step:<10} {len(values):>6} " + " ".join(
            f"{percentile(values, p) * 1000:>8.1f}" for p in (50, 90, 99, 100)))
    pages = [b for r in results for b in r["bytes"]]
    offered = [size for size, offers in pages if offers]
    print(f"search pages: {len(pages)}, {len(offered)} of them offering slots")
    if offered:
        print(f"search page HTML with offers: median {statistics.median(offered) / 1024:.1f} KiB, "
              f"max {max(offered) / 1024:.1f} KiB (uncompressed)")
    empty = [size for size, offers in pages if not offers]
    if empty:
        print(f"search page HTML with nothing free: median {statistics.median(empty) / 1024:.1f} KiB")
    statuses = {}
    for r in results:
        for k, n in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + n
    print("statuses: " + ", ".join(f"{k}: {n}" for k, n in sorted(statuses.items())))
    after = server_histograms(args.host, args.port)
    print("server time during the run, from its /metrics (histogram, interpolated):")
    for (method, route), (buckets, total) in sorted(after.items()):
        if route.startswith(("/api", "/assets", "/metrics", "/health")):
            continue
        old_buckets, old_total = before.get((method, route), ({}, 0.0))
        delta = {le: n - old_buckets.get(le, 0.0) for le, n in buckets.items()}
        count = delta.get(float("inf"), 0.0)
        if count <= 0:
            continue
        p50, p99 = histogram_quantile(delta, 0.5), histogram_quantile(delta, 0.99)
        print(f"  {method} {route}: {count:.0f} requests, mean {(total - old_total) / count * 1000:.2f} ms, "
              f"p50 ~{p50 * 1000:.2f} ms, p99 ~{p99 * 1000:.2f} ms")


if __name__ == "__main__":
    main()
