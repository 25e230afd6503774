#!/usr/bin/env bash
# A local Kafka-compatible broker for the tests: tansu, built from crates.io, in-memory storage.
#
#   scripts/kafka-broker.sh install              install tansu (skipped when the pinned version is there)
#   scripts/kafka-broker.sh start PORT           start a broker on 127.0.0.1:PORT in the background and wait
#                                                until it accepts connections (reuses one already listening)
#   scripts/kafka-broker.sh stop PORT            stop the broker this script started on PORT
#   scripts/kafka-broker.sh status PORT          exit 0 when something accepts connections on PORT
#   scripts/kafka-broker.sh topic PORT NAME N    create topic NAME with N partitions (exit 0 if it exists)
#
# Environment: TANSU_VERSION (pinned default below), TMPDIR (log and pid files go to ${TMPDIR:-/tmp}),
# KAFKA_BROKER_WAIT_SECS (start timeout, default 60).
# A cold install compiles tansu from source: about 10 minutes on 2 cores. Topics are NOT created
# automatically by tansu: create them with `topic` (or the client's admin API) before producing.
set -euo pipefail

TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
RUN_DIR="${TMPDIR:-/tmp}"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"

die() { echo "kafka-broker.sh: $*" >&2; exit 1; }

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The tansu binary to run: the one on PATH, else the one cargo installed. Empty when neither exists.
tansu_bin() {
  if command -v tansu >/dev/null 2>&1; then
    command -v tansu
  elif [ -x "$CARGO_BIN/tansu" ]; then
    echo "$CARGO_BIN/tansu"
  fi
}

# True when the tansu found reports the pinned version (`tansu --version` prints "tansu X.Y.Z").
tansu_ok() {
  local bin
  bin="$(tansu_bin)"
  [ -n "$bin" ] && "$bin" --version 2>/dev/null | grep -qw "$TANSU_VERSION"
}

cmd_install() {
  if tansu_ok; then
    echo "tansu $TANSU_VERSION already installed: $(tansu_bin)"
    return 0
  fi
  echo "installing tansu $TANSU_VERSION (cold build: about 10 minutes)"
  # dynostore provides the memory:// storage engine; --locked keeps the dependency tree reproducible.
  cargo install --locked tansu --version "$TANSU_VERSION" --features dynostore
  tansu_ok || die "tansu $TANSU_VERSION not found after install (is $CARGO_BIN on PATH?)"
}

check_port() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "bad or missing PORT: '${1:-}'"
}

# True when something accepts TCP connections on 127.0.0.1:PORT.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pid_file() { echo "$RUN_DIR/tansu-$1.pid"; }
log_file() { echo "$RUN_DIR/tansu-$1.log"; }

cmd_start() {
  local port="$1" bin pid waited=0 limit="${KAFKA_BROKER_WAIT_SECS:-60}"
  check_port "$port"
  if listening "$port"; then
    echo "a broker already listens on 127.0.0.1:$port: reusing it"
    return 0
  fi
  bin="$(tansu_bin)"
  [ -n "$bin" ] || die "tansu is not installed: run '$0 install' first"
  mkdir -p "$RUN_DIR"
  # setsid: the broker outlives this script and the caller's terminal; its log is kept for debugging.
  setsid "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "memory://tansu/" \
    </dev/null >"$(log_file "$port")" 2>&1 &
  pid=$!
  echo "$pid" >"$(pid_file "$port")"
  until listening "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$(pid_file "$port")"
      tail -n 20 "$(log_file "$port")" >&2 || true
      die "tansu exited before listening on $port (log: $(log_file "$port"))"
    fi
    if [ "$waited" -ge $((limit * 10)) ]; then
      kill "$pid" 2>/dev/null || true
      rm -f "$(pid_file "$port")"
      die "tansu did not listen on $port within ${limit}s (log: $(log_file "$port"))"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  sleep 0.5 # let the broker finish starting its services after the listener is bound
  echo "tansu broker on 127.0.0.1:$port (pid $pid, log $(log_file "$port"))"
}

cmd_stop() {
  local port="$1" pf pid i
  check_port "$port"
  pf="$(pid_file "$port")"
  if [ ! -f "$pf" ]; then
    if listening "$port"; then
      echo "127.0.0.1:$port is in use but was not started by this script: left alone" >&2
    else
      echo "no broker on 127.0.0.1:$port"
    fi
    return 0
  fi
  pid="$(cat "$pf")"
  # only signal the pid if it is still a tansu process (the pid file may be stale and the pid reused)
  if kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q tansu; then
    kill "$pid"
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    echo "stopped tansu broker on 127.0.0.1:$port"
  else
    echo "no tansu process $pid for 127.0.0.1:$port: removed stale pid file"
  fi
  rm -f "$pf"
}

cmd_status() {
  check_port "$1"
  if listening "$1"; then echo "listening on 127.0.0.1:$1"; else echo "nothing on 127.0.0.1:$1"; return 1; fi
}

cmd_topic() {
  local port="$1" name="${2:-}" partitions="${3:-}" bin out
  check_port "$port"
  [ -n "$name" ] || die "missing topic NAME"
  [[ "$partitions" =~ ^[0-9]+$ ]] || die "bad or missing partition count: '$partitions'"
  bin="$(tansu_bin)"
  [ -n "$bin" ] || die "tansu is not installed: run '$0 install' first"
  if out="$("$bin" topic create --broker "tcp://127.0.0.1:$port" --partitions "$partitions" "$name" 2>&1)"; then
    echo "created topic $name ($partitions partitions)"
  elif echo "$out" | grep -qiE "TopicAlreadyExists|already exists"; then
    echo "topic $name already exists"
  else
    echo "$out" >&2
    die "could not create topic $name"
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  topic) cmd_topic "${2:-}" "${3:-}" "${4:-}" ;;
  *) usage ;;
esac
