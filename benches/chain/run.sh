#!/usr/bin/env bash
# `fhir-bridge ingest` of five copies of the Synthea bundles with anchoring off and on,
# alternating, three times each, against anvil with 1-second blocks (BENCHMARKS.md, stage H).
# Needs a release build (`cargo build --release`) and scripts/chain-tools.sh install.
# The keys are anvil's published development keys.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
B="$root/target/release/fhir-bridge"
W="${TMPDIR:-/tmp}/chainbench"
rm -rf "$W"; mkdir -p "$W/keys"
[ -d $W/data ] || python3 "$root/benches/ingest/replicate.py" $W/data 5 "$root/../shared/data/fhir-r4/synthea" >/dev/null
"$root/scripts/chain-tools.sh" start 18545 >/dev/null
printf '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n' > $W/keys/admin.key; chmod 600 $W/keys/admin.key
printf '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n' > $W/keys/gas.key; chmod 600 $W/keys/gas.key
E="--rpc-url http://127.0.0.1:18545 --chain-id 31337"
C=$($B --data-dir $W/d-deploy chain deploy --gas-key $W/keys/admin.key $E 2>/dev/null)
echo "contract $C"
for round in 1 2 3; do
  for mode in off on; do
    d=$W/d-$mode-$round
    if [ $mode = on ]; then
      $B --data-dir $d keys >/dev/null
      $B --data-dir $d chain register --gas-key $W/keys/admin.key --contract $C $E >/dev/null 2>&1
      FHIR_BRIDGE__CHAIN__RPC_URL=http://127.0.0.1:18545 FHIR_BRIDGE__CHAIN__CHAIN_ID=31337 FHIR_BRIDGE__CHAIN__CONTRACT=$C \
      FHIR_BRIDGE__CHAIN__GAS_KEY_FILE=$W/keys/gas.key FHIR_BRIDGE__CHAIN__FINALITY=1 FHIR_BRIDGE__CHAIN__INTERVAL_S=1 \
        $B --data-dir $d ingest $W/data 2>&1 | grep -E "resources/s|^chain" | sed "s/^/$mode $round: /"
    else
      $B --data-dir $d ingest $W/data 2>&1 | grep -E "resources/s" | sed "s/^/$mode $round: /"
    fi
    rm -rf $d
  done
done
"$root/scripts/chain-tools.sh" stop 18545
