#!/usr/bin/env bash
# The issue-6 comparison: cqlstream against the scylla crate, same server, same run.
#
#   bash benches/compare.sh              # ROWS=1000000 REQUESTS=200000 RUNS=5, takes a while
#   QUICK=1 bash benches/compare.sh      # smoke test: 1 run each, 100,000 rows, 20,000 requests
#
# Builds (release, feature testkit) the examples `testkit_server` and `bench`, starts
# `testkit_server --demo-rows $ROWS` pinned to core 0, fills bench.kv once with
# `bench --setup point` and creates the insert keys with one untimed insert run, then
# for each configuration (scan-owned, scan-borrowed, raw, point, insert) x
# (compression none, lz4) at protocol 4 runs the two drivers
# alternately (the first driver swaps every run), $RUNS times each, every run its own
# process pinned to core 1; then cqlstream alone at protocol 5 (the scylla crate
# speaks v4 only). Prints a markdown table of medians and ratios and flags each target
# of issue 6 as met or not met.
#
# Env: ROWS (1000000), REQUESTS (200000), RUNS (5), QUICK=1 (defaults 100000 / 20000 / 1),
# PORT (19042), READY_TIMEOUT (seconds to wait for the server, 600), CARGO_TARGET_DIR
# (honoured; results go to $CARGO_TARGET_DIR/compare, by default target/compare).
# Writes results.jsonl (one JSON line per run, as `bench --json` prints it),
# table.md and the server's log there.
#
# Exit status: non-zero if the build, the server or any bench run failed (a wrong row
# or count is a failure); missing a target is only reported.
# Needs bash, python3 and (for pinning) taskset; without taskset it runs unpinned.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ "${QUICK:-0}" == 1 ]]; then
    ROWS=${ROWS:-100000} REQUESTS=${REQUESTS:-20000} RUNS=${RUNS:-1}
else
    ROWS=${ROWS:-1000000} REQUESTS=${REQUESTS:-200000} RUNS=${RUNS:-5}
fi
PORT=${PORT:-19042}
READY_TIMEOUT=${READY_TIMEOUT:-600}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=$TARGET_DIR/compare
BIN=$TARGET_DIR/release/examples
ADDR=127.0.0.1:$PORT

# Command prefixes pinning to core 0 (the server) and core 1 (the clients). Prefixes,
# not a shell function, so that the server's $! is the server itself.
if command -v taskset >/dev/null 2>&1 && [[ $(nproc) -ge 2 ]]; then
    PINNED=yes SERVER_CORE=(taskset -c 0) CLIENT_CORE=(taskset -c 1)
else
    PINNED=no SERVER_CORE=() CLIENT_CORE=()
    echo "compare.sh: warning: taskset or a second core is missing: running unpinned" >&2
fi

echo "compare.sh: building bench and testkit_server (release)" >&2
cargo build --release --features testkit --example testkit_server --example bench >&2

mkdir -p "$OUT"
: >"$OUT/results.jsonl"
: >"$OUT/failures.txt"

echo "compare.sh: starting testkit_server on $ADDR with $ROWS rows" >&2
"${SERVER_CORE[@]}" "$BIN/testkit_server" --addr "$ADDR" --demo-rows "$ROWS" >"$OUT/server.out" 2>"$OUT/server.err" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT

waited=0
until grep -q '^ready ' "$OUT/server.out" 2>/dev/null; do
    if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "compare.sh: testkit_server exited before it was ready:" >&2
        cat "$OUT/server.err" >&2
        exit 1
    fi
    if ((waited >= READY_TIMEOUT * 10)); then
        echo "compare.sh: testkit_server not ready after ${READY_TIMEOUT}s" >&2
        exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
done
echo "compare.sh: $(cat "$OUT/server.out"), loaded in $((waited / 10))s" >&2

# bench ARGS...: one pinned run; its JSON lines go to results.jsonl. Exit status 3
# (the driver cannot do the configuration) counts as n/a, anything else non-zero as
# a failure.
FAILED=0
bench() {
    local rc=0
    "${CLIENT_CORE[@]}" "$BIN/bench" --contact-point "$ADDR" --json "$@" >>"$OUT/results.jsonl" 2>"$OUT/bench.err" || rc=$?
    if ((rc != 0 && rc != 3)); then
        FAILED=1
        { echo "bench $* -> exit $rc"; cat "$OUT/bench.err"; } | tee -a "$OUT/failures.txt" >&2
    fi
}

echo "compare.sh: filling bench.kv (bench --setup point, untimed)" >&2
if ! "${CLIENT_CORE[@]}" "$BIN/bench" --contact-point "$ADDR" --driver cqlstream --setup --requests 1000 point >/dev/null; then
    echo "compare.sh: bench --setup failed" >&2
    exit 1
fi
# One untimed insert run first, so that every timed one overwrites the same keys:
# otherwise whichever driver runs first pays for creating 200,000 partitions.
echo "compare.sh: creating the insert workload's keys (one untimed insert run)" >&2
if ! "${CLIENT_CORE[@]}" "$BIN/bench" --contact-point "$ADDR" --driver cqlstream --requests "$REQUESTS" insert >/dev/null; then
    echo "compare.sh: the untimed insert run failed" >&2
    exit 1
fi

# workload_args CONFIG: the bench arguments of a configuration.
workload_args() {
    case $1 in
    scan-owned) echo "--rows $ROWS --decode owned scan" ;;
    scan-borrowed) echo "--rows $ROWS --decode borrowed scan" ;;
    raw) echo "--rows $ROWS raw" ;;
    point) echo "--requests $REQUESTS point" ;;
    insert) echo "--requests $REQUESTS insert" ;;
    esac
}

CONFIGS=(scan-owned scan-borrowed raw point insert)
for compression in none lz4; do
    for config in "${CONFIGS[@]}"; do
        echo "compare.sh: $config, $compression, v4: $RUNS x (cqlstream, scylla)" >&2
        for ((run = 0; run < RUNS; run++)); do
            if ((run % 2 == 0)); then drivers=(cqlstream scylla); else drivers=(scylla cqlstream); fi
            for driver in "${drivers[@]}"; do
                # shellcheck disable=SC2046 # word splitting of the workload arguments is meant
                bench --driver "$driver" --protocol 4 --compression "$compression" $(workload_args "$config")
            done
        done
    done
done
for compression in none lz4; do
    for config in "${CONFIGS[@]}"; do
        echo "compare.sh: $config, $compression, v5: $RUNS x cqlstream" >&2
        for ((run = 0; run < RUNS; run++)); do
            # shellcheck disable=SC2046
            bench --driver cqlstream --protocol 5 --compression "$compression" $(workload_args "$config")
        done
    done
done

CPU=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
python3 - "$OUT/results.jsonl" "$OUT/table.md" "$ROWS" "$REQUESTS" "$RUNS" "$PINNED" "$(nproc)" "${CPU:-unknown}" <<'PY'
import json, statistics, sys
from collections import defaultdict

path, table_path, rows, requests, runs, pinned, cores, cpu = sys.argv[1:9]
groups = defaultdict(list)
with open(path) as f:
    for line in f:
        r = json.loads(line)
        config = r["workload"] + ("-" + r["decode"] if "decode" in r else "")
        groups[(config, r["compression"], r["protocol"], r["driver"])].append(r)

def med(config, comp, proto, driver, field):
    vals = [r[field] for r in groups.get((config, comp, proto, driver), []) if r.get(field) is not None]
    return statistics.median(vals) if vals else None

def rate_field(config):
    return "requests_per_s" if config in ("point", "insert") else "rows_per_s"

def alloc_field(config):
    return "allocs_per_request" if config in ("point", "insert") else "allocs_per_row"

def fmt(v, kind):
    if v is None:
        return "n/a"
    return {"rate": f"{v:,.0f}", "us": f"{v:,.0f}", "rss": f"{v / 1024:.1f}", "allocs": f"{v:.2f}",
            "ratio": f"{v:.2f}x"}[kind]

def flag(ok):
    return "met" if ok else "NOT met"

configs = ["scan-owned", "scan-borrowed", "raw", "point", "insert"]
lines = [
    f"cqlstream vs scylla 1.9, medians of {runs} run(s) each; {rows} rows (scan, raw), {requests} requests "
    f"at concurrency 256 (point, insert); {cores} cores ({cpu}); server on core 0, client on core 1: {pinned}.",
    "",
    "| configuration | cqlstream /s | scylla /s | ratio | p99 µs cq | p99 µs scylla | RSS MiB cq | RSS MiB scylla "
    "| allocs cq | allocs scylla | targets |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
]
notes, met, total = [], 0, 0
for proto in (4, 5):
    for comp in ("none", "lz4"):
        for config in configs:
            m = lambda d, f: med(config, comp, proto, d, f)
            rf, af = rate_field(config), alloc_field(config)
            cq, sc = m("cqlstream", rf), m("scylla", rf)
            if cq is None and sc is None:
                continue
            ratio = cq / sc if cq and sc else None
            p99 = (m("cqlstream", "p99_us"), m("scylla", "p99_us")) if config in ("point", "insert") else (None, None)
            rss = (m("cqlstream", "peak_rss_kb"), m("scylla", "peak_rss_kb"))
            targets = []
            if sc is not None and cq is not None and config != "raw":
                want = 1.5 if config.startswith("scan") else 1.3
                checks = [(f"{'rows' if config.startswith('scan') else 'req'}/s >= {want}x", ratio >= want)]
                if p99[0] is not None and p99[1] is not None:
                    checks.append(("p99 <= scylla", p99[0] <= p99[1]))
                if rss[0] is not None and rss[1] is not None:
                    checks.append(("RSS <= scylla", rss[0] <= rss[1]))
                for name, ok in checks:
                    targets.append(f"{name}: {flag(ok)}")
                    met, total = met + ok, total + 1
            if config.startswith("scan"):
                raw = med("raw", comp, proto, "cqlstream", "rows_per_s")
                if cq is not None and raw:
                    ok = cq / raw >= 0.5
                    notes.append(f"- {config}, {comp}, v{proto}: cqlstream scan / raw = {cq / raw:.2f} "
                                 f"(target >= 0.5: {flag(ok)})")
                    met, total = met + ok, total + 1
            unit = "req" if config in ("point", "insert") else "rows"
            lines.append(
                f"| {config}, {comp}, v{proto} ({unit}) | {fmt(cq, 'rate')} | {fmt(sc, 'rate')} | {fmt(ratio, 'ratio')} "
                f"| {fmt(p99[0], 'us')} | {fmt(p99[1], 'us')} | {fmt(rss[0], 'rss')} | {fmt(rss[1], 'rss')} "
                f"| {fmt(m('cqlstream', af), 'allocs')} | {fmt(m('scylla', af), 'allocs')} "
                f"| {'; '.join(targets) if targets else ('n/a' if sc is None else '')} |")
lines += ["", "Scan against the raw page requests (cqlstream, same compression and protocol):", ""] + notes
lines += ["", f"Targets met: {met} of {total}. Allocations are per row (scan, raw) or per request "
          "(point, insert), over the timed part (the bench's own checks allocate nothing)."]
text = "\n".join(lines) + "\n"
with open(table_path, "w") as f:
    f.write(text)
print(text, end="")
PY

echo "compare.sh: results in $OUT/results.jsonl, table in $OUT/table.md" >&2
if ((FAILED)); then
    echo "compare.sh: some bench runs FAILED (see $OUT/failures.txt)" >&2
    exit 1
fi
