#!/usr/bin/env bash
# The full test suite, as a new user or CI runs it: `scripts/test.sh` from the repository root.
# It installs what the tests need (idempotently: present tools are skipped), checks formatting
# and lints, and runs every test tier. Shared test data is read from ../shared/data; with CI=true
# a missing data folder fails the tests instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
cargo --version
rustup component list --installed 2>/dev/null | grep -E '^(rustfmt|clippy)' || rustup component add rustfmt clippy

echo "== official FHIR R4 package (definitions for the generator test; fetched once, then cached)"
pkg_parent="$HOME/.cache/fhir-ledger-bridge/hl7.fhir.r4.examples-4.0.1"
if [ ! -f "$pkg_parent/package/package.json" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null && tar xzf hl7.fhir.r4.examples-4.0.1.tgz)
  mkdir -p "$pkg_parent" && rm -rf "$pkg_parent/package" && mv "$tmp/package" "$pkg_parent/package"
  rm -rf "$tmp"
fi
export FHIR_R4_PACKAGE_DIR="$pkg_parent/package"

echo "== Kafka-compatible broker for the Kafka tests (tansu; built once, then reused)"
kafka_port="${FHIR_BRIDGE_TEST_KAFKA_PORT:-19092}"
scripts/kafka-broker.sh install
if scripts/kafka-broker.sh status "$kafka_port" >/dev/null 2>&1; then
  echo "a broker already listens on 127.0.0.1:$kafka_port: reusing it (left running at exit)"
else
  scripts/kafka-broker.sh start "$kafka_port"
  trap 'scripts/kafka-broker.sh stop "$kafka_port" || true' EXIT
fi
export FHIR_BRIDGE_TEST_KAFKA="127.0.0.1:$kafka_port"

echo "== Python tools: an independent FHIR validator and python-hl7's mllp_send (venv, built once)"
py_bin="$(scripts/python-tools.sh)"
export FHIR_BRIDGE_PYTHON="$py_bin/python"
export FHIR_BRIDGE_MLLP_SEND="$py_bin/mllp_send"

echo "== FHIR clients from npm for the client tests (fhir-kit-client, pinned)"
FHIR_BRIDGE_JS_CLIENTS="$(scripts/js-clients.sh install)"
export FHIR_BRIDGE_JS_CLIENTS

echo "== Ethereum node and Solidity compiler for the chain tests (anvil and solc from npm, pinned)"
chain_tools="$(scripts/chain-tools.sh install)"
export FHIR_BRIDGE_ANVIL="$chain_tools/.bin/anvil"
export FHIR_BRIDGE_SOLCJS="$chain_tools/.bin/solcjs"

echo "== format"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked

# The fuzz crate lives outside the workspace (its own lock file); build its targets' checks and
# replay the committed seeds and every regression through them, so a change that breaks a target
# or brings back a found crash fails here, not at the next fuzzing run. No fuzzing happens here.
echo "== fuzz targets: replay seeds and regressions"
cargo test --manifest-path fuzz/Cargo.toml --locked --target-dir target/fuzz-replay
