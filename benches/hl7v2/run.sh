#!/usr/bin/env bash
# The HL7 v2 figures of BENCHMARKS.md (stage E) in one run, on the same shared sample messages:
#   1. the peer: python-hl7's parse alone (benches/hl7v2/peer_parse.py, in the venv of
#      scripts/python-tools.sh);
#   2. ours: hl7v2 parse, and parse + map to FHIR by mappings/ (criterion, bench v2_map);
#   3. the ratio of 2 to 1;
#   4. end to end: `fhir-bridge serve` with its MLLP listener, messages acknowledged over
#      8, 32 and 64 connections (bench mllp_e2e).
# Usage: benches/hl7v2/run.sh [SHARED_HL7V2_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
samples="${1:-$(cd .. && pwd)/shared/data/hl7v2}"
[ -d "$samples" ] || { echo "no HL7 v2 samples at $samples" >&2; exit 1; }

py_bin="$(scripts/python-tools.sh)"
echo "== peer: python-hl7 parse alone"
peer_line="$("$py_bin/python" benches/hl7v2/peer_parse.py "$samples" 50)"
echo "$peer_line"

echo "== ours: parse, and parse + map (criterion)"
cargo bench --quiet -p ingest-pipeline --bench v2_map -- --noplot hl7v2/
target_dir="$(cargo metadata --format-version 1 --no-deps | "$py_bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

"$py_bin/python" - "$target_dir/criterion/hl7v2" "$samples" "$peer_line" <<'EOF'
import json, re, sys
from pathlib import Path
root, samples, peer_line = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
messages = len(list(samples.glob("*.hl7")))
peer = float(re.search(r"([0-9.]+) us/message", peer_line).group(1))
for name in ("parse", "parse+map"):
    ns = json.loads((root / name / "new" / "estimates.json").read_text())["mean"]["point_estimate"]
    ours = ns / messages / 1e3
    print(f"{name:10} {ours:7.2f} us/message  ({1e6 / ours:,.0f} messages/s)  {peer / ours:5.1f}x python-hl7 parse alone ({peer:.1f} us)")
EOF

echo "== end to end: MLLP with ACKs"
cargo bench --quiet -p fhir-bridge --bench mllp_e2e
