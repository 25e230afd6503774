#!/usr/bin/env bash
# Runs the peer comparison of BENCHMARKS.md in one go: the fhir-model crate and ours in one Rust
# process, then Python fhir.resources, on the same input. Installs fhir.resources into a local venv.
set -euo pipefail
cd "$(dirname "$0")"
data="${1:-$(cd ../../.. && pwd)/shared/data/fhir-r4/bulk-ndjson}"
cargo run --release --quiet -- "$data" 7
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet 'fhir.resources==8.*'
fi
.venv/bin/python python_fhir_resources.py "$data" 3
