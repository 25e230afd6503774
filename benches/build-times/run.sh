#!/usr/bin/env bash
# Build times of BENCHMARKS.md (stage G): clean builds and one-line changes, the single bridge
# crate (OLD, default faedde7) against the split crates (NEW, default HEAD), in one sitting,
# alternating. Each side gets its own worktree and target dir under $WORK (default /tmp/build-times).
#
#   benches/build-times/run.sh [OLD] [NEW]
#
# A one-line change is a `pub fn` appended to one file (so the crate's interface changes and every
# crate above it is rebuilt), then `cargo build -p fhir-bridge`; the file is restored afterwards.
# Prints label, seconds and the workspace crates cargo compiled.
set -euo pipefail
cd "$(dirname "$0")/../.."
old="${1:-faedde7}"
new="${2:-HEAD}"
work="${WORK:-/tmp/build-times}"
mkdir -p "$work"
# A compiler cache would make clean builds meaningless.
unset RUSTC_WRAPPER
git worktree prune
for side in old new; do
  rev="$old"; [ "$side" = new ] && rev="$new"
  rev="$(git rev-parse --verify "$rev^{commit}")"
  if [ -d "$work/$side" ]; then
    git -C "$work/$side" checkout -q --detach "$rev" && git -C "$work/$side" reset -q --hard
  else
    git worktree add --detach "$work/$side" "$rev" >/dev/null
  fi
done
# Whatever happens, no probe is left behind in a worktree.
trap 'git -C "$work/old" checkout -q -- . ; git -C "$work/new" checkout -q -- .' EXIT

build() { # label side
  local start end
  start=$(date +%s.%N)
  (cd "$work/$2" && CARGO_TARGET_DIR="$work/target-$2" cargo build -p fhir-bridge --locked) >"$work/$1.log" 2>&1 ||
    { echo "$1: the build failed; see $work/$1.log" >&2; exit 1; }
  end=$(date +%s.%N)
  printf '%s\t%.1f\t%s\n' "$1" "$(echo "$end - $start" | bc)" \
    "$(grep -o 'Compiling [a-z0-9_-]* v0.1.0' "$work/$1.log" | awk '{print $2}' | paste -sd, -)"
}

# Old first in round 1, new first in round 2, so a drift of the machine's speed shows.
order() { if [ "$1" = 1 ]; then echo old new; else echo new old; fi; }
for round in 1 2; do
  for side in $(order "$round"); do
    rm -rf "$work/target-$side"
    build "$side-clean-$round" "$side"
  done
done

probe=0
change() { # label side file
  probe=$((probe + 1))
  printf '\n#[doc(hidden)]\npub fn build_timing_probe() -> u64 {\n    %d\n}\n' "$probe" >>"$work/$2/$3"
  build "$1" "$2"
  (cd "$work/$2" && git checkout -q -- "$3")
  (cd "$work/$2" && CARGO_TARGET_DIR="$work/target-$2" cargo build -p fhir-bridge --locked) >/dev/null 2>&1 ||
    { echo "rebuilding $2 after $1 failed" >&2; exit 1; }
}

# What changes: the same module before and after the split.
pairs=(
  "http bridge/src/http/fhir.rs http-api/src/fhir.rs"
  "pipeline bridge/src/pipeline/commit.rs ingest-pipeline/src/commit.rs"
  "store bridge/src/store/index.rs node-store/src/index.rs"
  "exchange bridge/src/peers/custodian.rs exchange/src/custodian.rs"
  "sources bridge/src/sources/mllp/handle.rs source-connectors/src/mllp/handle.rs"
  "auth bridge/src/auth/jwt.rs smart-auth/src/jwt.rs"
  "consent bridge/src/consent/type_set.rs fhir-consent/src/type_set.rs"
  "cli bridge/src/cli/serve.rs bridge/src/cli/serve.rs"
)
for round in 1 2; do
  for pair in "${pairs[@]}"; do
    read -r name old_file new_file <<<"$pair"
    for side in $(order "$round"); do
      file="$old_file"; [ "$side" = new ] && file="$new_file"
      change "$side-$name-$round" "$side" "$file"
    done
  done
done
