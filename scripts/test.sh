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

echo "== format"
cargo fmt --all -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests"
cargo test --workspace --locked
