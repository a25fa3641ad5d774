"""Checks FHIR STU3 resources with a parser hubbook did not write: fhir.resources (PyPI), whose
STU3 models refuse unknown elements, wrong types and missing required elements.

Reads a JSON array of resources on standard input; prints one line per resource that does not
parse, and exits 1 if any does not. Exits 3, saying what to install, when fhir.resources is
missing:

    python3 -m pip install 'fhir.resources==7.1.0'
"""
import json
import sys

try:
    from fhir.resources.STU3 import construct_fhir_element
except ImportError:
    print("fhir.resources is not installed: python3 -m pip install 'fhir.resources==7.1.0'")
    sys.exit(3)

failed = 0
for i, resource in enumerate(json.load(sys.stdin)):
    kind = resource.get("resourceType", "?")
    try:
        construct_fhir_element(kind, resource)
    except Exception as e:  # the parser's own error says what is wrong
        failed += 1
        print(f"resource {i} ({kind}): {e}".replace("\n", " | "))
sys.exit(1 if failed else 0)
