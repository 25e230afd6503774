#!/usr/bin/env bash
# A local Ethereum JSON-RPC node and the Solidity compiler for the chain tests, from the npm
# registry, pinned, in a folder kept outside the repository:
#   - anvil (npm `@foundry-rs/anvil`, whose platform package ships the binary);
#   - solcjs (npm `solc`, the compiler built to WebAssembly: the same bytes on every machine).
#
#   scripts/chain-tools.sh install            install both (skipped when the pinned versions are there);
#                                             prints the folder whose bin/ holds `anvil` and `solcjs`
#   scripts/chain-tools.sh start PORT         start anvil on 127.0.0.1:PORT in the background (1-second
#                                             blocks are NOT set: each test chooses its own mining) and
#                                             wait until it answers JSON-RPC (reuses one already there)
#   scripts/chain-tools.sh stop PORT          stop the anvil this script started on PORT
#
# Environment: ANVIL_VERSION, SOLC_VERSION (pinned defaults below), TMPDIR (log and pid files go to
# ${TMPDIR:-/tmp}), CHAIN_TOOLS_DIR (default ~/.cache/fhir-ledger-bridge/chain-tools).
set -euo pipefail

ANVIL_VERSION="${ANVIL_VERSION:-1.7.1}"
SOLC_VERSION="${SOLC_VERSION:-0.8.30}"
TOOLS_DIR="${CHAIN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/fhir-ledger-bridge/chain-tools}"
RUN_DIR="${TMPDIR:-/tmp}"

die() { echo "chain-tools.sh: $*" >&2; exit 1; }

installed() {
  [ -x "$TOOLS_DIR/node_modules/.bin/anvil" ] && [ -x "$TOOLS_DIR/node_modules/.bin/solcjs" ] || return 1
  "$TOOLS_DIR/node_modules/.bin/anvil" --version 2>/dev/null | grep -qw "$ANVIL_VERSION" || return 1
  "$TOOLS_DIR/node_modules/.bin/solcjs" --version 2>/dev/null | grep -q "^$SOLC_VERSION+" || return 1
}

cmd_install() {
  if ! installed; then
    echo "installing anvil $ANVIL_VERSION and solc $SOLC_VERSION (npm) into $TOOLS_DIR" >&2
    mkdir -p "$TOOLS_DIR"
    # A package.json of our own keeps npm from walking up into another project's.
    [ -f "$TOOLS_DIR/package.json" ] || echo '{"name":"fhir-ledger-bridge-chain-tools","private":true}' > "$TOOLS_DIR/package.json"
    (cd "$TOOLS_DIR" && npm install --silent --no-audit --no-fund --save-exact \
      "@foundry-rs/anvil@$ANVIL_VERSION" "solc@$SOLC_VERSION" >&2)
    installed || die "anvil $ANVIL_VERSION or solcjs $SOLC_VERSION not usable after install (see $TOOLS_DIR)"
  fi
  echo "$TOOLS_DIR/node_modules"
}

check_port() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "bad or missing PORT: '${1:-}'"
}

# True when a JSON-RPC node answers eth_chainId on 127.0.0.1:PORT.
answering() {
  curl -s -m 2 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "http://127.0.0.1:$1" 2>/dev/null | grep -q '"result"'
}

cmd_start() {
  check_port "${1:-}"
  local port="$1" log="$RUN_DIR/fhir-bridge-anvil-$1.log" pid="$RUN_DIR/fhir-bridge-anvil-$1.pid"
  if answering "$port"; then
    echo "a JSON-RPC node already answers on 127.0.0.1:$port: reusing it"
    return 0
  fi
  cmd_install >/dev/null
  "$TOOLS_DIR/node_modules/.bin/anvil" --host 127.0.0.1 --port "$port" --silent >"$log" 2>&1 &
  echo $! > "$pid"
  for _ in $(seq 1 100); do
    answering "$port" && { echo "anvil $ANVIL_VERSION on 127.0.0.1:$port (pid $(cat "$pid"))"; return 0; }
    kill -0 "$(cat "$pid")" 2>/dev/null || die "anvil exited at start (log: $log)"
    sleep 0.2
  done
  die "anvil did not answer on 127.0.0.1:$port within 20 s (log: $log)"
}

cmd_stop() {
  check_port "${1:-}"
  local pid="$RUN_DIR/fhir-bridge-anvil-$1.pid"
  [ -f "$pid" ] || return 0
  kill "$(cat "$pid")" 2>/dev/null || true
  rm -f "$pid"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
