#!/usr/bin/env python3
"""Builds the fuzz seed corpora from ../shared/data into fuzz/corpus/<target>/ (git-ignored).

Usage: scripts/fuzz-corpus.py DATA_DIR OUT_DIR MAPPINGS_DIR

Seeds are small (libFuzzer runs slower on big inputs): official FHIR examples up to
MAX_FHIR bytes, the resources of the Synthea bundles one by one and as small transaction Bundles
of a few entries, the first lines of the bulk NDJSON, every HL7 v2 sample (each message of a batch
file on its own, long ones cut at a segment), and MLLP streams made of v2 samples. Files are named
by content hash (Synthea names its files after its synthetic patients). Dictionaries of FHIR
member names and v2 segment and event names are written beside the corpora.
"""
import collections
import hashlib
import json
import os
import re
import sys
from pathlib import Path

MAX_FHIR = 16 * 1024
MAX_V2 = 16 * 1024
FHIR_MODE_TARGETS = ("fhir_json",)


def write(out: Path, target: str, data: bytes, seen: set) -> None:
    digest = hashlib.sha1(data).hexdigest()
    if (target, digest) in seen:
        return
    seen.add((target, digest))
    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / digest).write_bytes(data)


def compact(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def fhir(data: Path, out: Path, seen: set, keys: collections.Counter) -> None:
    def count_keys(value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                keys[key] += 1
                count_keys(item)
        elif isinstance(value, list):
            for item in value:
                count_keys(item)

    for path in sorted((data / "fhir-r4" / "examples").glob("*.json")):
        raw = path.read_bytes()
        try:
            count_keys(json.loads(raw))
        except ValueError:
            pass
        if len(raw) <= MAX_FHIR:
            write(out, "fhir_json", raw, seen)
    for path in sorted((data / "fhir-r4" / "synthea").glob("*.json")):
        try:
            bundle = json.loads(path.read_bytes())
        except ValueError:
            continue
        entries = bundle.get("entry", [])
        by_type = {}
        for entry in entries:
            resource = entry.get("resource", {})
            by_type.setdefault(resource.get("resourceType"), []).append(entry)
        for group in by_type.values():
            for entry in group[:2]:
                raw = compact(entry["resource"])
                if len(raw) <= MAX_FHIR:
                    write(out, "fhir_json", raw, seen)
        # A small transaction Bundle: the first entries, with their fullUrl and request.
        for size in (2, 4):
            small = dict(bundle, entry=entries[:size])
            raw = compact(small)
            if len(raw) <= MAX_FHIR:
                write(out, "fhir_json", raw, seen)
    for path in sorted((data / "fhir-r4" / "bulk-ndjson").glob("*.ndjson")):
        with path.open("rb") as lines:
            for _, line in zip(range(2), lines):
                if len(line) <= MAX_FHIR:
                    write(out, "fhir_json", line.strip(), seen)


def v2_messages(raw: bytes):
    text = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    starts = [m.start() for m in re.finditer(rb"(?:^|\r)MSH", text)]
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        message = text[start:end].lstrip(b"\r")
        if len(message) > MAX_V2:
            message = message[: message.rfind(b"\r", 0, MAX_V2) + 1]
        if message:
            yield message


def hl7v2(data: Path, out: Path, seen: set) -> None:
    root = data / "hl7v2"
    messages = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".hl7", ".txt", ".er7", ".msg", ".dat", ""):
            continue
        raw = path.read_bytes()
        if b"MSH" not in raw:
            # Malformed samples without MSH still make good negative seeds.
            if len(raw) <= MAX_V2:
                write(out, "hl7v2_parse_map", raw, seen)
            continue
        for message in v2_messages(raw):
            write(out, "hl7v2_parse_map", message, seen)
            messages.append(message)
    # MLLP streams: [limit][split count][splits][stream]; frames with noise between them.
    start, end = b"\x0b", b"\x1c\r"
    for i, message in enumerate(messages[:40]):
        nxt = messages[(i + 1) % len(messages)]
        stream = b"\r\n" + start + message + end + b"noise" + start + nxt + end
        write(out, "mllp_framing", bytes([0x80, 0]) + stream, seen)
        splits = bytes([1 + (i * 7 + k * 13) % 200 for k in range(6)])
        write(out, "mllp_framing", bytes([0x80, len(splits)]) + splits + stream, seen)
        write(out, "mllp_framing", bytes([100, 3, 50, 1, 1]) + stream, seen)


def dictionaries(out: Path, keys: collections.Counter, mappings: Path) -> None:
    def entry(text: str) -> str:
        # libFuzzer's dictionary syntax: printable ASCII, with \\, \" and \xNN escapes.
        body = ""
        for byte in text.encode():
            if byte in (0x5C, 0x22) or not 0x20 <= byte < 0x7F:
                body += "\\x%02X" % byte
            else:
                body += chr(byte)
        return '"' + body + '"\n'

    with (out / "fhir_json.dict").open("w") as d:
        for key, _ in keys.most_common(600):
            d.write(entry('"' + key + '":'))
        for text in ("{", "}", "[", "]", "null", "true", "false", '""', "0.0", "-1e5", "\\u0000", '"resourceType":'):
            d.write(entry(text))
    with (out / "hl7v2_parse_map.dict").open("w") as d:
        segments = sorted({p.name.split("-")[0] for p in (mappings / "segments").glob("*.toml")})
        for segment in segments + ["MSH", "EVN", "MSA", "ERR"]:
            d.write(entry("\r" + segment + "|"))
        for text in ("MSH|^~\\&|", "^", "~", "\\", "&", "|", '""', "\\X0D\\", "\\.br\\", "\\F\\", "\\E\\"):
            d.write(entry(text))
        for path in sorted((mappings / "messages").glob("*.toml")):
            for event in re.findall(r"[A-Z]{3}\^[A-Z0-9]{3}", path.read_text()):
                d.write(entry(event))


def main() -> None:
    data, out, mappings = (Path(arg) for arg in sys.argv[1:4])
    out.mkdir(parents=True, exist_ok=True)
    seen: set = set()
    keys: collections.Counter = collections.Counter()
    fhir(data, out, seen, keys)
    hl7v2(data, out, seen)
    dictionaries(out, keys, mappings)
    for target in sorted({t for t, _ in seen}):
        count = len(os.listdir(out / target))
        print(f"corpus {target}: {count} seeds")


if __name__ == "__main__":
    main()
