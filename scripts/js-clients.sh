#!/usr/bin/env bash
# FHIR clients from the npm registry, pinned, for the client tests (tests/clients/), in a folder
# kept outside the repository:
#   - fhir-kit-client (Vermonster's FHIR client for JavaScript).
#
#   scripts/js-clients.sh install     install (skipped when the pinned version is there); prints the
#                                     node_modules folder (FHIR_BRIDGE_JS_CLIENTS for the tests)
#
# Environment: FHIR_KIT_CLIENT_VERSION (pinned default below), JS_CLIENTS_DIR (default
# ~/.cache/fhir-ledger-bridge/js-clients).
set -euo pipefail

FHIR_KIT_CLIENT_VERSION="${FHIR_KIT_CLIENT_VERSION:-2.0.3}"
TOOLS_DIR="${JS_CLIENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fhir-ledger-bridge/js-clients}"

installed() {
  [ -f "$TOOLS_DIR/node_modules/fhir-kit-client/package.json" ] || return 1
  grep -q "\"version\": \"$FHIR_KIT_CLIENT_VERSION\"" "$TOOLS_DIR/node_modules/fhir-kit-client/package.json"
}

case "${1:-}" in
  install)
    if ! installed; then
      command -v npm >/dev/null || { echo "js-clients.sh: npm is needed (Node.js 20 or later)" >&2; exit 1; }
      echo "installing fhir-kit-client $FHIR_KIT_CLIENT_VERSION (npm) into $TOOLS_DIR" >&2
      mkdir -p "$TOOLS_DIR"
      # A package.json of our own keeps npm from walking up into another project's.
      [ -f "$TOOLS_DIR/package.json" ] || echo '{"name":"fhir-ledger-bridge-js-clients","private":true}' > "$TOOLS_DIR/package.json"
      (cd "$TOOLS_DIR" && npm install --silent --no-audit --no-fund --save-exact "fhir-kit-client@$FHIR_KIT_CLIENT_VERSION" >&2)
      installed || { echo "js-clients.sh: fhir-kit-client $FHIR_KIT_CLIENT_VERSION not installed in $TOOLS_DIR" >&2; exit 1; }
    fi
    echo "$TOOLS_DIR/node_modules"
    ;;
  *)
    echo "usage: scripts/js-clients.sh install" >&2
    exit 2
    ;;
esac
