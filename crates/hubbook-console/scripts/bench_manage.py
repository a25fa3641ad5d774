#!/usr/bin/env python3
"""Manager console benchmark: the Today dashboard and every report page on a running hubbook.

Signs in to the console as a cluster manager, then loads each page in turn, one request at a
time (so the times are service times, not queueing): a few warm-up loads, then --requests
timed ones. For each page it prints the client's p50, p99 and max, the bytes of HTML, and the
server's own time for those requests from its /metrics histogram (read before and after each
page, so the route's histogram holds only that page's requests; interpolated within buckets).
Pages: Today, the reports' index, each report over its default period (the last five weeks),
each over a whole year, the activity's fee lines, and a year's CSV download.

On the one-cluster-year SQLite data set (the seed's manager is mgr-00001):

    cargo build --release
    d="$(mktemp -d)"
    target/release/hubbook seed --database-url "sqlite://$d/hubbook.db" --clusters 1 --weeks 52
    HUBBOOK_JWT_SECRET="$(head -c 32 /dev/urandom | base64)" target/release/hubbook serve \\
        --database-url "sqlite://$d/hubbook.db" --bind 127.0.0.1:18081 &
    python3 crates/hubbook-console/scripts/bench_manage.py --base-url http://127.0.0.1:18081

Standard library only.
"""

import argparse
import datetime
import urllib.parse

from benchlib import Browser as Session, form_fields, histogram_quantile, percentile, server_histograms

REPORTS = ["utilisation", "capacity", "dna", "bookings", "activity", "enhanced-access", "fair-share"]


def server_delta(before, after, route):
    """Requests, mean, p50 and p99 (seconds) of one GET route between two /metrics readings."""
    buckets, total = after.get(("GET", route), ({}, 0.0))
    old_buckets, old_total = before.get(("GET", route), ({}, 0.0))
    delta = {le: n - old_buckets.get(le, 0.0) for le, n in buckets.items()}
    count = delta.get(float("inf"), 0.0)
    if count <= 0:
        return None
    return (count, (total - old_total) / count,
            histogram_quantile(delta, 0.5), histogram_quantile(delta, 0.99))


def pages(today):
    """(name, path, route) of every page measured."""
    monday = today - datetime.timedelta(days=today.weekday())
    # The seed's history starts four weeks before this one; a year from there.
    year_from = monday - datetime.timedelta(weeks=4)
    year_to = year_from + datetime.timedelta(days=364)
    year = f"from={year_from}&to={year_to}"
    found = [("today", "/manage", "/manage"), ("reports index", "/manage/reports", "/manage/reports")]
    route = "/manage/reports/{name}"
    for name in REPORTS:
        found.append((f"{name} (5 weeks)", f"/manage/reports/{name}", route))
    found.append(("activity fee lines (5 weeks)", "/manage/reports/activity?detail=true", route))
    for name in REPORTS:
        found.append((f"{name} (year)", f"/manage/reports/{name}?{year}", route))
    found.append(("utilisation by day (year)", f"/manage/reports/utilisation?{year}&group_by=day", route))
    found.append(("utilisation sorted (year)",
                  f"/manage/reports/utilisation?{year}&group_by=day&sort=booked&dir=desc", route))
    found.append(("utilisation.csv (year)", f"/manage/reports/utilisation.csv?{year}&group_by=day", route))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:18081")
    parser.add_argument("--username", default="mgr-00001")
    parser.add_argument("--password", default="seed-password")
    parser.add_argument("--requests", type=int, default=200, help="timed loads of each page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed loads of each page first")
    parser.add_argument("--today", type=datetime.date.fromisoformat,
                        default=datetime.date.today(), help="the date the seed ran (its 'this week')")
    parser.add_argument("--only", help="measure only pages whose name contains this")
    args = parser.parse_args()
    url = urllib.parse.urlparse(args.base_url)
    host, port = url.hostname, url.port or 80

    s = Session(host, port)
    _, _, page, _ = s.send("GET", "/sign-in")
    form = [(n, v) for n, v in form_fields(page.decode(), "/sign-in") if n == "csrf_token"]
    form += [("username", args.username), ("password", args.password)]
    status, location, _, _ = s.send("POST", "/sign-in", form)
    if status != 303:
        raise SystemExit(f"{args.username} could not sign in: {status}")
    status, location, _, _ = s.send("GET", "/")
    if (status, location) != (303, "/manage"):
        raise SystemExit(f"{args.username} is not a cluster manager: / answered {status} {location}")

    print(f"{args.username} on {args.base_url}: {args.requests} sequential loads of each page "
          f"after {args.warmup} warm-up loads")
    print(f"{'page':<32} {'status':>6} {'KiB':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}"
          f" | {'server: mean':>12} {'p50':>6} {'p99':>6}")
    worst = 0.0
    for name, path, route in pages(args.today):
        if args.only and args.only not in name:
            continue
        for _ in range(args.warmup):
            s.send("GET", path)
        before = server_histograms(host, port)
        times, statuses, size = [], set(), 0
        for _ in range(args.requests):
            status, _, data, took = s.send("GET", path)
            times.append(took)
            statuses.add(status)
            size = len(data)
        after = server_histograms(host, port)
        server = server_delta(before, after, route)
        server_text = ("{:>12.2f} {:>6.2f} {:>6.2f}".format(server[1] * 1000, server[2] * 1000, server[3] * 1000)
                       if server else "           -      -      -")
        p99 = percentile(times, 99)
        worst = max(worst, p99)
        print(f"{name:<32} {','.join(map(str, sorted(statuses))):>6} {size / 1024:>7.1f} "
              f"{percentile(times, 50) * 1000:>7.2f} {p99 * 1000:>7.2f} {max(times) * 1000:>7.2f} | {server_text}")
    print(f"worst client p99: {worst * 1000:.2f} ms (target: under 100 ms)")


if __name__ == "__main__":
    main()
