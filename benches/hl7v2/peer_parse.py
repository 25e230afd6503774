#!/usr/bin/env python3
"""The peer figure for BENCHMARKS.md: python-hl7's parse alone over the shared HL7 v2 samples.

Usage: python benches/hl7v2/peer_parse.py ../shared/data/hl7v2 [ROUNDS]
Run with the venv of scripts/python-tools.sh (it has python-hl7). Prints microseconds per message.
"""
import sys
import time
from pathlib import Path

import hl7


def main():
    folder, rounds = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20
    messages = []
    for path in sorted(folder.glob("*.hl7")):
        text = path.read_text(encoding="utf-8").lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r")
        messages.append(text)
    for message in messages:  # warm up, and check every message parses
        hl7.parse(message)
    started = time.perf_counter()
    for _ in range(rounds):
        for message in messages:
            hl7.parse(message)
    elapsed = time.perf_counter() - started
    per = elapsed / (rounds * len(messages)) * 1e6
    print(f"python-hl7 {hl7.__version__ if hasattr(hl7, '__version__') else ''} parse: {len(messages)} messages x {rounds}: {per:.1f} us/message")


if __name__ == "__main__":
    main()
