"""What the console benchmarks share: a browser without JavaScript (one keep-alive connection and
the session cookie), reading a form's fields, percentiles, and the server's own latency histograms
from its /metrics. Standard library only.
"""

import html
import http.client
import re
import time
import urllib.parse


def form_fields(page, action):
    """The named inputs of the first form posting to `action` (None when there is none)."""
    start = page.find(f'action="{action}"')
    if start < 0:
        return None
    end = page.find("</form>", start)
    fields = []
    for tag in re.findall(r"<input[^>]*>", page[start:end]):
        name = re.search(r' name="([^"]*)"', tag)
        value = re.search(r' value="([^"]*)"', tag)
        if name:
            fields.append((name.group(1), html.unescape(value.group(1)) if value else ""))
    return fields



class Browser:
    """One browser: a keep-alive connection and the session cookie."""

    def __init__(self, host, port):
        self.conn = http.client.HTTPConnection(host, port, timeout=60)
        self.cookie = None

    def send(self, method, path, form=None):
        headers = {}
        body = None
        if self.cookie:
            headers["Cookie"] = self.cookie
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        took = time.perf_counter() - started
        for value in response.headers.get_all("Set-Cookie") or []:
            pair = value.split(";", 1)[0]
            if "Max-Age=0" in value or pair.split("=", 1)[1:] == [""]:
                self.cookie = None
            else:
                self.cookie = pair
        return response.status, response.headers.get("Location", ""), data, took



def percentile(values, p):
    """The p-th percentile of values, nearest rank."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]



def server_histograms(host, port):
    """The server's latency histograms from /metrics: {(method, route): ({le: count}, sum)}."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    found = {}
    for line in text.splitlines():
        m = re.match(r"hubbook_http_request_duration_seconds_(bucket|sum)\{(.*)\} (\S+)$", line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        key = (labels["method"], labels["route"])
        buckets, total = found.get(key, ({}, 0.0))
        if m.group(1) == "sum":
            total = float(m.group(3))
        else:
            buckets[float(labels["le"])] = float(m.group(3))
        found[key] = (buckets, total)
    return found



def histogram_quantile(buckets, q):
    """Prometheus-style quantile of cumulative buckets, interpolated within a bucket."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for le in bounds:
        if buckets[le] >= rank:
            if le == float("inf"):
                return lower
            inside = buckets[le] - below
            return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = le, buckets[le]
    return lower

