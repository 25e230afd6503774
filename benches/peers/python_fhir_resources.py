"""Times Python `fhir.resources` (its R4B models) parse+validate over the same NDJSON lines.

Usage: python3 python_fhir_resources.py DIR [ROUNDS]. Prints microseconds per resource (best round).
"""
import json
import pathlib
import sys
import time

from fhir.resources.R4B import get_fhir_model_class


def main() -> None:
    directory = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../../../shared/data/fhir-r4/bulk-ndjson")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    lines = []
    for path in sorted(directory.glob("*.ndjson")):
        lines.extend(line for line in path.read_bytes().splitlines() if line.strip())
    types = [json.loads(line)["resourceType"] for line in lines]
    classes = {t: get_fhir_model_class(t) for t in set(types)}
    failures = 0
    best = float("inf")
    for _ in range(rounds):
        failures = 0
        start = time.perf_counter()
        for t, line in zip(types, lines):
            try:
                classes[t].model_validate_json(line)
            except Exception:  # noqa: BLE001 - count every rejection
                failures += 1
        best = min(best, time.perf_counter() - start)
    per = best * 1e6 / len(lines)
    print(f"fhir.resources (R4B) parse+validate {per:8.2f} µs/resource {1e6 / per:10.0f} resources/s "
          f"({len(lines)} resources, {failures} rejected)")


if __name__ == "__main__":
    main()
