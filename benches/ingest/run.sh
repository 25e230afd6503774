#!/usr/bin/env bash
# End-to-end ingest benchmark of BENCHMARKS.md: bulk-ndjson and Synthea replicated with fresh ids
# to about 100,000 resources (10 copies), ingested by the release binary into a fresh data dir.
# Usage: benches/ingest/run.sh [COPIES]   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
copies="${1:-10}"
data="$(cd .. && pwd)/shared/data/fhir-r4"
work="${TMPDIR:-/tmp}/fhir-bridge-bench"
rm -rf "$work" && mkdir -p "$work"
python3 benches/ingest/replicate.py "$work/input" "$copies" "$data/bulk-ndjson" "$data/synthea"
cargo build --release --quiet -p fhir-bridge
echo "== first ingest (every resource new)"
./target/release/fhir-bridge --data-dir "$work/data" ingest "$work/input"
echo "== second ingest (every resource a duplicate)"
./target/release/fhir-bridge --data-dir "$work/data" ingest "$work/input"
echo "== verify"
/usr/bin/time -f "%e s" ./target/release/fhir-bridge --data-dir "$work/data" verify
du -sh "$work/input" "$work/data"
