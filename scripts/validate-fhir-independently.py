#!/usr/bin/env python3
"""Validates FHIR JSON resources with another project's models: fhir.resources.R4B (pydantic).

Usage: validate-fhir-independently.py [--skip FILE] DIR_OR_FILE...

Each argument is an NDJSON file (one resource per line, `.ndjson`), a `.json` file (one
resource, or a JSON array of resources), or a directory searched recursively for both.
Prints one line per invalid resource (where, resourceType/id, the error) and a summary on
stderr; exits 1 when any resource is invalid, 2 on a usage or input error.

These are R4B (4.3.0) models, not R4 (4.0.1): a resource valid in R4 that R4B refuses is not
an error of the bridge. Such known cases are listed in a skip file (`--skip`, JSON: a list of
{"resourceType", "path", "reason"}, `path` an element path as pydantic prints it, e.g.
`Observation.referenceRange.0.text`); an error at such a path is reported as skipped, not
as invalid. Nothing is skipped without a skip file.

Install the models with scripts/python-tools.sh and run with that venv's python.
"""

import argparse
import json
import os
import sys

try:
    from fhir.resources.R4B import get_fhir_model_class
except ImportError as error:  # pragma: no cover - depends on the environment
    sys.exit(f"fhir.resources with its R4B models is needed (scripts/python-tools.sh): {error}")


def resources_of(path):
    """Yields (where, resource) for every resource in a file or directory."""
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".json", ".ndjson")):
                    yield from resources_of(os.path.join(root, name))
        return
    with open(path, encoding="utf-8") as file:
        if path.endswith(".ndjson"):
            for number, line in enumerate(file, 1):
                if line.strip():
                    yield f"{path}:{number}", json.loads(line)
            return
        value = json.load(file)
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item
    else:
        yield path, value


def validate(resource):
    """Returns a list of (location, message) errors, empty when valid."""
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(kind, str):
        return [("resourceType", "missing or not a string")]
    try:
        model = get_fhir_model_class(kind)
    except ValueError:
        return [("resourceType", f"{kind!r} is not an R4B resource type")]
    try:
        if hasattr(model, "model_validate"):  # pydantic v2 (fhir.resources >= 8)
            model.model_validate(resource)
        else:  # pydantic v1 (fhir.resources 6, 7)
            model.parse_obj(resource)
    except Exception as error:  # pydantic.ValidationError, and FHIR checks raised as ValueError
        details = getattr(error, "errors", None)
        if callable(details):
            try:
                out = []
                for item in details():
                    where = ".".join(str(part) for part in item.get("loc", ()))
                    message = str(item.get("msg", "")).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
                    out.append((f"{kind}.{where}" if where else kind, message))
                if out:
                    return out
            except Exception:  # noqa: BLE001 - fall back to the text
                pass
        return [(kind, " ".join(str(error).split()))]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip", help="JSON file of known R4-valid, R4B-refused cases")
    parser.add_argument("paths", nargs="+", help="NDJSON or JSON files, or directories")
    args = parser.parse_args()
    skips = []
    if args.skip:
        with open(args.skip, encoding="utf-8") as file:
            skips = json.load(file)

    def skipped(kind, where):
        return next(
            (s for s in skips if s["resourceType"] == kind and where.startswith(s["path"])),
            None,
        )

    total = invalid = skipped_count = 0
    for path in args.paths:
        if not os.path.exists(path):
            print(f"{path}: no such file or directory", file=sys.stderr)
            return 2
        for where, resource in resources_of(path):
            total += 1
            kind = resource.get("resourceType", "?") if isinstance(resource, dict) else "?"
            name = f"{kind}/{resource.get('id', '?')}" if isinstance(resource, dict) else "?"
            errors = validate(resource)
            real = [(loc, msg) for loc, msg in errors if not skipped(kind, loc)]
            if errors and not real:
                skipped_count += 1
                for loc, msg in errors:
                    print(f"skipped {where}: {name}: {loc}: {skipped(kind, loc)['reason']}", file=sys.stderr)
            elif real:
                invalid += 1
                print(f"{where}: {name}: " + "; ".join(f"{loc}: {msg}" for loc, msg in real))
    print(
        f"{total} resources: {total - invalid - skipped_count} valid, {invalid} invalid, "
        f"{skipped_count} skipped (known R4/R4B differences)",
        file=sys.stderr,
    )
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
