"""schemathesis hooks for tests/schemathesis/run.sh: the examples phase sends, before anything
generated, the one whole valid request per operation that fixtures.py wrote for this role
(`HUBBOOK_ST_EXAMPLES` names the file), so that every operation the role may call answers 2xx
at least once. Idempotency keys are fresh per request, as a client's are."""

import json
import os
import uuid

import schemathesis

with open(os.environ["HUBBOOK_ST_EXAMPLES"]) as f:
    EXAMPLES = json.load(f)


@schemathesis.hook
def before_add_examples(context, examples):
    request = EXAMPLES.get(context.operation.label)
    if request is None:
        return
    headers = {"If-Match": "*"}
    if context.operation.method.upper() == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    case = context.operation.Case(
        path_parameters=request["path_parameters"] or None,
        query=request["query"] or None,
        headers=headers,
        **({"body": request["body"], "media_type": "application/json"} if "body" in request else {}),
    )
    examples.append(case)
