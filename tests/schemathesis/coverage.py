#!/usr/bin/env python3
"""Reads one role's schemathesis NDJSON report and the list of what that role may call, and
fails unless every such operation got a 2xx at least once and every other operation only 403,
or a refusal that comes before the caller is known or the operation is read at all (401 for a
bad token, 405 for a method the path lacks, 400 for a request that does not parse, 413 and
415 for a body that cannot be read): never 404 or 422, which would tell a caller without the
rights something about the data.

    coverage.py REPORT.ndjson ROLE ROLES.toml

ROLES.toml (beside this script) lists, per role, the operations it may call ("METHOD /path").
"""

import collections
import json
import sys
import tomllib

report, role, roles_file = sys.argv[1], sys.argv[2], sys.argv[3]
with open(roles_file, "rb") as f:
    may = set(tomllib.load(f)[role]["may"])

statuses = collections.defaultdict(collections.Counter)
for line in open(report):
    event = json.loads(line)
    finished = event.get("ScenarioFinished")
    if not finished:
        continue
    for interaction in (finished["recorder"].get("interactions") or {}).values():
        request, response = interaction["request"], interaction.get("response")
        if response is None:
            continue
        statuses[finished["recorder"]["label"], request["method"]][response["status_code"]] += 1

seen = collections.defaultdict(collections.Counter)
for (label, _), counter in statuses.items():
    if label.split(" ", 1)[0] in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        seen[label].update(counter)

problems = []
for label in sorted(may):
    if not any(200 <= s < 300 for s in seen.get(label, {})):
        problems.append(f"{label}: the {role} may call it but got no 2xx: {dict(seen.get(label, {}))}")
BEFORE_RIGHTS = {400, 401, 403, 405, 413, 415}
for label, counter in sorted(seen.items()):
    if label in may:
        continue
    wrong = sorted(s for s in counter if s not in BEFORE_RIGHTS)
    if wrong:
        problems.append(f"{label}: the {role} may not call it but got {wrong}")
for label, counter in sorted(seen.items()):
    flag = "may" if label in may else "   "
    print(f"{flag} {label}: {dict(sorted(counter.items()))}")
for p in problems:
    print("FAIL", p)
sys.exit(1 if problems else 0)
