#!/usr/bin/env bash
# Coverage-guided fuzzing on stable Rust (libFuzzer through cargo-fuzz, no sanitizer): see
# FUZZING.md.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      run each target (default: all) for SECONDS (60)
#   scripts/fuzz.sh --list                     the targets
#
# Idempotent: installs cargo-fuzz (pinned) when missing, builds the seed corpora from
# ../shared/data into fuzz/corpus/ (git-ignored) when missing, builds the targets, runs them one
# after the other, and prints the executions of each run (from libFuzzer's final stats). Runs are
# appended to fuzz/runs.tsv (git-ignored) so executions add up across runs. A crash, timeout or
# out-of-memory input is written to fuzz/artifacts/<target>/ and the script exits non-zero at the
# end; reproduce it with `cargo fuzz run -s none -a <target> <file>` (see FUZZING.md).
#
# Environment: FUZZ_JOBS (build jobs, default 2), FUZZ_WORKERS (fuzzing processes per target,
# default 1; more share the target's corpus directory, as libFuzzer's -jobs does, and their
# executions are added up), FUZZ_SHARED_DATA (default ../shared/data),
# FUZZ_TARGET_DIR (default fuzz/target), FUZZ_REBUILD_CORPUS=1 to rebuild the corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

CARGO_FUZZ_VERSION=0.13.1
TARGETS=(fhir_json hl7v2_parse_map mllp_framing jwt search_params)
declare -A MAX_LEN=([fhir_json]=16384 [hl7v2_parse_map]=8192 [mllp_framing]=4096 [jwt]=4096 [search_params]=512)

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${TARGETS[@]}"
  exit 0
fi
seconds="${1:-60}"
shift || true
if [ "$#" -gt 0 ]; then
  targets=("$@")
  for target in "${targets[@]}"; do
    [ -n "${MAX_LEN[$target]:-}" ] || { echo "unknown target: $target (scripts/fuzz.sh --list)" >&2; exit 2; }
  done
else
  targets=("${TARGETS[@]}")
fi

data="${FUZZ_SHARED_DATA:-$root/../shared/data}"
target_dir="${FUZZ_TARGET_DIR:-$root/fuzz/target}"
corpus="$root/fuzz/corpus"
artifacts="$root/fuzz/artifacts"
export CARGO_BUILD_JOBS="${FUZZ_JOBS:-2}"
workers="${FUZZ_WORKERS:-1}"
[[ "$workers" =~ ^[1-9][0-9]*$ ]] || { echo "FUZZ_WORKERS must be a positive number: $workers" >&2; exit 2; }

echo "== cargo-fuzz $CARGO_FUZZ_VERSION"
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

echo "== seed corpora (fuzz/corpus, from $data)"
if [ "${FUZZ_REBUILD_CORPUS:-0}" = 1 ] || [ ! -f "$corpus/.built" ]; then
  if [ -d "$data" ]; then
    rm -rf "$corpus"
    python3 scripts/fuzz-corpus.py "$data" "$corpus" mappings
  else
    echo "no shared data at $data: starting from the committed seeds only"
    mkdir -p "$corpus"
  fi
  touch "$corpus/.built"
fi

# Stable Rust: no sanitizer (ASan needs nightly's -Zsanitizer); safe Rust gets its checks from
# panics, and -a turns on debug assertions and overflow checks.
fuzz_flags=(-s none -a --target-dir "$target_dir")

echo "== build"
cargo fuzz build "${fuzz_flags[@]}"

failed=0
summary=()
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s"
  mkdir -p "$corpus/$target" "$artifacts/$target"
  dirs=("$corpus/$target")
  [ -d "fuzz/seeds/$target" ] && dirs+=("fuzz/seeds/$target")
  args=(-max_total_time="$seconds" -max_len="${MAX_LEN[$target]}" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$artifacts/$target/")
  [ -f "$corpus/$target.dict" ] && args+=(-dict="$corpus/$target.dict")
  # Each worker has its own log; they share the corpus directory, so what one finds the others
  # pick up when they rescan it.
  pids=()
  for ((worker = 1; worker <= workers; worker++)); do
    log="$artifacts/$target.$worker.log"
    cargo fuzz run "${fuzz_flags[@]}" "$target" "${dirs[@]}" -- "${args[@]}" >"$log" 2>&1 &
    pids+=("$!")
  done
  status=0
  executions=0
  rate=0
  found=""
  for ((worker = 1; worker <= workers; worker++)); do
    log="$artifacts/$target.$worker.log"
    worker_status=0
    wait "${pids[$((worker - 1))]}" || worker_status=$?
    worker_executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    worker_rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    executions=$((executions + ${worker_executions:-0}))
    rate=$((rate + ${worker_rate:-0}))
    if [ "$worker_status" != 0 ]; then
      status="$worker_status"
      found="$(grep -E -m1 -o '(Test unit written to|==[0-9]+== ERROR: libFuzzer: [a-z-]+).*' "$log" || true)"
      echo "$target worker $worker FAILED (exit $worker_status): ${found:-see $log}"
      tail -40 "$log"
    fi
  done
  [ "$status" = 0 ] || failed=1
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$target" "$seconds" "${executions:-0}" "${rate:-0}" \
    "$([ "$status" = 0 ] && echo ok || echo "found")" >>fuzz/runs.tsv
  summary+=("$(printf '%-16s %8ss %14s executions %8s exec/s  %s' "$target" "$seconds" "${executions:-?}" "${rate:-?}" \
    "$([ "$status" = 0 ] && echo ok || echo FOUND)")")
done

echo "== this run"
printf '%s\n' "${summary[@]}"
echo "== all runs recorded in fuzz/runs.tsv (executions per target)"
awk -F'\t' '{ total[$2] += $4; secs[$2] += $3 } END { for (t in total) printf "%-16s %14d executions in %ds\n", t, total[t], secs[t] }' \
  fuzz/runs.tsv | sort
exit "$failed"
