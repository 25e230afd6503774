"""Replicates FHIR inputs with fresh ids, for end-to-end ingest benchmarks of a stable size.

Usage: python3 replicate.py OUT_DIR COPIES SOURCE_DIR...

Every copy k rewrites each UUID in the text (resource ids, `Type/id` references, `urn:uuid:`
full URLs; the Synthea and bulk-export ids are all UUIDs) to another UUID derived from it and k,
the same way everywhere, so references stay consistent within a copy and no copy duplicates
another. Copy 0 keeps the original ids. File names are numbered (the originals carry patient names).
"""
import pathlib
import re
import sys

UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def main() -> None:
    out = pathlib.Path(sys.argv[1])
    copies = int(sys.argv[2])
    sources = [pathlib.Path(p) for p in sys.argv[3:]]
    files = sorted(p for s in sources for p in s.rglob("*") if p.suffix in (".json", ".ndjson"))
    count = 0
    for k in range(copies):
        prefix = b"%08x" % k

        def fresh(match: re.Match) -> bytes:
            text = match.group(0)
            return text if k == 0 else prefix + text[8:]

        target = out / f"copy-{k:03}"
        target.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files):
            (target / f"{i:04}{path.suffix}").write_bytes(UUID.sub(fresh, path.read_bytes()))
            count += 1
    print(f"wrote {count} files in {copies} copies to {out}")


if __name__ == "__main__":
    main()
