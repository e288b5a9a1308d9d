#!/usr/bin/env python3
"""Validate one `vfiotx --json` run against docs/schemas/<command>.schema.json.

Usage: json_validate.py SCHEMA_DIR FILE [EXPECTED_COMMAND]
FILE is the run's whole stdout: it must be exactly one JSON document (a second document, or any
text around it, fails). The schema is chosen by the document's own "command" key, which must
equal EXPECTED_COMMAND when given. Uses Debian's python3-jsonschema (Draft 2020-12); references
between the schema files resolve from SCHEMA_DIR, with no network.
"""
import json
import pathlib
import sys

import jsonschema


def main():
    schema_dir = pathlib.Path(sys.argv[1]).resolve()
    text = pathlib.Path(sys.argv[2]).read_text()
    want = sys.argv[3] if len(sys.argv) > 3 else None
    try:
        doc = json.loads(text)  # raises on anything but exactly one document
    except json.JSONDecodeError as e:
        print("not exactly one JSON document: %s\n---\n%s" % (e, text[:2000]), file=sys.stderr)
        return 1
    if not isinstance(doc, dict) or "command" not in doc:
        print("the document is not an object with a command: %r" % (doc,), file=sys.stderr)
        return 1
    if want and doc["command"] != want:
        print("command %r, expected %r" % (doc["command"], want), file=sys.stderr)
        return 1
    path = schema_dir / ("%s.schema.json" % doc["command"])
    # Every schema file, by its file URI: "common.schema.json#/..." resolves without a fetch.
    store = {}
    for p in schema_dir.glob("*.schema.json"):
        s = json.loads(p.read_text())
        jsonschema.Draft202012Validator.check_schema(s)
        s["$id"] = p.as_uri()
        store[p.as_uri()] = s
    schema = store[path.as_uri()]
    try:  # jsonschema >= 4.18 (not Debian 12's 4.10)
        import referencing
        import referencing.jsonschema

        registry = referencing.Registry().with_resources(
            (uri, referencing.jsonschema.DRAFT202012.create_resource(s)) for uri, s in store.items())
        validator = jsonschema.Draft202012Validator(schema, registry=registry)
    except ImportError:
        resolver = jsonschema.RefResolver(base_uri=path.as_uri(), referrer=schema, store=store)
        validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        print("%s: %s at /%s" % (path.name, e.message[:300], "/".join(map(str, e.absolute_path))),
              file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
