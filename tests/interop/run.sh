#!/usr/bin/env bash
# Interop suite: real drivers against the testkit server running as a process.
#
#   bash tests/interop/run.sh            # from anywhere in the repository
#
# Installs the Python driver if it is missing, builds the `testkit_server` example,
# and for each case starts a fresh server on 127.0.0.x (free ports from 19042 up),
# waits for its `ready` line, and runs tests/interop/python_driver.py against it:
#
#   v5 + LZ4, v5 plain, v4 + LZ4, v4 plain, v5 + LZ4 with password auth, a 3-node
#   cluster, protocol negotiation (driver's version unset) landing on v5, and a
#   `--max-protocol 4` server the driver must step down to v4 for.
#
# Servers are killed on exit. Exits non-zero if any case fails; the last line is
# `interop: N passed, M failed` (counting cases; a case with only SKIPs passes).
#
# Environment: INTEROP_PROFILE=release builds the server with --release (default: the
# dev profile, which `cargo test` has already built); INTEROP_ONLY=<substring> runs only
# the cases whose name contains it; CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/../.."

PROFILE="${INTEROP_PROFILE:-dev}"
ONLY="${INTEROP_ONLY:-}"
CASE_TIMEOUT="${INTEROP_CASE_TIMEOUT:-600}"

say() { printf '\n=== interop: %s\n' "$*"; }

# --- the Python driver -------------------------------------------------------------
if ! python3 -c 'import cassandra, lz4' >/dev/null 2>&1; then
  say "installing cassandra-driver and lz4"
  python3 -m pip install --quiet cassandra-driver lz4
fi
python3 -c 'import cassandra; print("cassandra-driver", cassandra.__version__)'

# --- the server --------------------------------------------------------------------
say "building testkit_server ($PROFILE profile)"
cargo build --profile "$PROFILE" --features testkit --example testkit_server
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
profile_dir="$PROFILE"
[ "$PROFILE" = dev ] && profile_dir=debug
SERVER="$target_dir/$profile_dir/examples/testkit_server"
[ -x "$SERVER" ] || { echo "interop: no server binary at $SERVER"; exit 1; }

work="$(mktemp -d)"
server_pids=()
cleanup() {
  local pid
  for pid in "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# free_port NODES -> sets $port: a TCP port free on 127.0.0.1, 127.0.0.2, ... (every
# node of a cluster shares it), counting up from $next_port.
next_port=19042
free_port() {
  local nodes="$1"
  port="$(python3 - "$next_port" "$nodes" <<'EOF'
import socket, sys
start, nodes = int(sys.argv[1]), int(sys.argv[2])
for port in range(start, start + 1000):
    try:
        socks = []
        for i in range(nodes):
            s = socket.socket()
            s.bind((f"127.0.0.{i + 1}", port))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(port)
    break
else:
    sys.exit(f"no free port in {start}..{start + 999}")
EOF
)"
  [ -n "$port" ] || return 1
  next_port=$((port + 1))
}

# start_server NAME NODES ARGS... -> sets $addr; the server's output goes to $work/NAME.*
start_server() {
  local name="$1" nodes="$2" port="" pid i
  shift 2
  free_port "$nodes" || return 1
  "$SERVER" --addr "127.0.0.1:$port" --nodes "$nodes" "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  server_pids+=("$pid")
  for i in $(seq 1 600); do
    if grep -q '^ready ' "$work/$name.out"; then
      addr="$(sed -n 's/^ready //p' "$work/$name.out" | head -n 1)"
      echo "server $name (pid $pid): ready on $addr"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "server $name exited before it was ready:"
      cat "$work/$name.err"
      return 1
    fi
    sleep 0.1
  done
  echo "server $name: no ready line within 60 s"
  cat "$work/$name.err"
  return 1
}

passed=0
failed=0
failed_cases=()

# run_case NAME NODES "SERVER ARGS" SCRIPT ARGS...
run_case() {
  local name="$1" nodes="$2" server_args="$3"
  shift 3
  if [ -n "$ONLY" ] && [[ "$name" != *"$ONLY"* ]]; then
    return 0
  fi
  say "$name"
  local addr=""
  # shellcheck disable=SC2086 # server_args is a word list on purpose
  if start_server "$name" "$nodes" $server_args &&
    timeout "$CASE_TIMEOUT" python3 tests/interop/python_driver.py --contact-point "$addr" --nodes "$nodes" "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_cases+=("$name")
    if [ -s "$work/$name.err" ]; then
      echo "--- server stderr (last 20 lines)"
      tail -n 20 "$work/$name.err"
    fi
  fi
  # Stop this case's server now; the trap covers the rest.
  local pid="${server_pids[-1]:-}"
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
}

run_case v5-lz4 1 "" --protocol 5 --compression lz4
run_case v5-plain 1 "" --protocol 5 --compression none
run_case v4-lz4 1 "" --protocol 4 --compression lz4
run_case v4-plain 1 "" --protocol 4 --compression none
run_case auth-v5-lz4 1 "--user cassandra:s3cr3t" --protocol 5 --compression lz4 --user cassandra --password s3cr3t
run_case three-nodes-v5 3 "" --protocol 5 --compression lz4
run_case negotiate-v5 1 "" --protocol auto --expect-protocol 5 --compression none
run_case step-down-to-v4 1 "--max-protocol 4" --protocol auto --expect-protocol 4 --compression lz4

say "summary"
if [ "$failed" -gt 0 ]; then
  echo "failed cases: ${failed_cases[*]}"
fi
echo "interop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
