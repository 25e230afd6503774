#!/usr/bin/env bash
# Python tools for independent checks, in a venv kept outside the repository:
#   - fhir.resources (its fhir.resources.R4B models validate the FHIR JSON the bridge makes:
#     scripts/validate-fhir-independently.py);
#   - hl7 (python-hl7: an HL7 v2 parser from another project, and its `mllp_send` command for
#     sending messages to the bridge's MLLP listener);
#   - fhirpy (a FHIR client used as its users use it, against `serve`: tests/clients/);
#   - fhirclient (SMART's Python client, as a Backend Services client: tests/clients/);
#   - sekmet-fhir (a FHIR R4 test harness from another project: its Bulk Data client drives the
#     bridge's `$export`, and from stage J its FHIR server is the one the connectors talk to).
# Idempotent: an existing venv whose packages import is reused. Prints the venv's bin dir, so
#   FHIR_BRIDGE_PYTHON="$(scripts/python-tools.sh)/python" cargo test -p hl7v2-fhir --test independent
# Versions are pinned; change them here (and rerun) to upgrade.
set -euo pipefail

FHIR_RESOURCES_VERSION="8.1.0"   # has fhir.resources.R4B (FHIR 4.3.0 models, pydantic 2)
FHIR_CORE_VERSION="1.1.12"       # its validation runtime
HL7_VERSION="0.4.5"              # python-hl7, with the mllp_send command
FHIRPY_VERSION="2.3.1"           # fhirpy, beda.software's FHIR client (sync and async)
SEKMET_VERSION="0.1.1"           # sekmet-fhir, with its `sekmet` command
FHIRCLIENT_VERSION="4.4.0"       # fhirclient, SMART's Python client (smart-on-fhir/client-py)

venv="${XDG_CACHE_HOME:-$HOME/.cache}/fhir-ledger-bridge/py"
python="$venv/bin/python"

ready() {
  [ -x "$python" ] && "$python" - "$FHIR_RESOURCES_VERSION" "$FHIR_CORE_VERSION" "$HL7_VERSION" "$FHIRPY_VERSION" "$SEKMET_VERSION" "$FHIRCLIENT_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
import fhir.resources.R4B.patient  # noqa: F401  (the R4B models exist)
import hl7  # noqa: F401
assert version("fhir.resources") == sys.argv[1], version("fhir.resources")
assert version("fhir-core") == sys.argv[2], version("fhir-core")
assert version("hl7") == sys.argv[3], version("hl7")
import fhirpy  # noqa: F401
assert version("fhirpy") == sys.argv[4], version("fhirpy")
assert version("sekmet-fhir") == sys.argv[5], version("sekmet-fhir")
import fhirclient.client  # noqa: F401
import jwt  # noqa: F401  (PyJWT, which signs fhirclient's assertion in tests/clients/)
assert version("fhirclient") == sys.argv[6], version("fhirclient")
EOF
}

if ! ready; then
  echo "== Python venv for the independent FHIR validator and python-hl7: $venv" >&2
  base="$(command -v python3 || true)"
  [ -n "$base" ] || { echo "python3 is needed (apt-get install python3 python3-venv)" >&2; exit 1; }
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$base" -m venv "$venv"
  "$python" -m pip install --quiet --disable-pip-version-check \
    "fhir.resources==$FHIR_RESOURCES_VERSION" "fhir-core==$FHIR_CORE_VERSION" "hl7==$HL7_VERSION" "fhirpy==$FHIRPY_VERSION" \
    "sekmet-fhir==$SEKMET_VERSION" "fhirclient==$FHIRCLIENT_VERSION" >&2
  ready || { echo "the venv at $venv does not import fhir.resources.R4B, hl7, fhirpy and sekmet-fhir at the pinned versions" >&2; exit 1; }
  [ -x "$venv/bin/mllp_send" ] || { echo "python-hl7 installed no mllp_send in $venv/bin" >&2; exit 1; }
  [ -x "$venv/bin/sekmet" ] || { echo "sekmet-fhir installed no sekmet command in $venv/bin" >&2; exit 1; }
fi
echo "$venv/bin"
