#!/usr/bin/env bash
# Where the status route's time goes, and how much work one request is, for
# `serve status` (no edge) and `gamegate all` (the full in-process edge, as
# bench/run.sh configures it: limits on, CORS allow-list, jail on, access log
# to a file). Prints Markdown to stdout (docs/BENCHMARKS.md, "The edge").
#
#   bench/profile.sh                          # builds and profiles target/release/gamegate
#   BIN=/tmp/gamegate-before bench/profile.sh # another build (e.g. before a change)
#   PERF=0 bench/profile.sh                   # instructions per request only
#   CALLGRIND=0 bench/profile.sh              # flame summaries only
#
# Two measures:
# - `perf record -g` of the server process (cpu-clock: also works where
#   hardware counters are not exposed, as on VMs) under `wrk -t2 -c64`,
#   summarised as the TOP frames by self time, kernel frames included.
# - Instructions per request, independent of the machine's load: the server
#   runs under valgrind's callgrind, counting only while `wrk -t1 -c4` sends
#   requests (callgrind_control toggles instrumentation); user-space instructions
#   of the server process ÷ requests wrk completed. Under valgrind the server
#   is ~50× slower; the count does not depend on that.
#
# Needs: wrk, perf (linux-perf), valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/gamegate}
TOP=${TOP:-15}
DURATION=${DURATION:-10s}
CG_DURATION=${CG_DURATION:-20s}
PERF=${PERF:-1}
CALLGRIND=${CALLGRIND:-1}
if [ "$BIN" = target/release/gamegate ]; then
  cargo build --release --quiet --bin gamegate
fi
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_http() {
  for _ in $(seq 1 "${2:-100}"); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "no answer from $1" >&2; exit 1
}

# The environment of each case (as bench/run.sh runs them).
common_env() {
  echo GAMEGATE_DATABASE__URL="sqlite://$work/$1.db" GAMEGATE_ANALYTICS__URL="sqlite://$work/$1-analytics.db" \
    GAMEGATE_ANALYTICS__SEED_DEMO_HISTORY=false GAMEGATE_LOG__LEVEL=warn
}
edge_env() {
  echo GAMEGATE_HTTP__PUBLIC_ADDR=127.0.0.1:28000 GAMEGATE_HTTP__ADMIN_ADDR=127.0.0.1:29000 \
    GAMEGATE_GAME_SERVER__ADDR=127.0.0.1:25190 \
    GAMEGATE_EDGE__API_KEYS=bench-api-key-0123456789 \
    GAMEGATE_EDGE__REGISTER_PER_MINUTE=1000000000 GAMEGATE_EDGE__REGISTER_BURST=1000000000 \
    GAMEGATE_EDGE__STATUS_PER_MINUTE=1000000000 GAMEGATE_EDGE__STATUS_BURST=1000000000 \
    GAMEGATE_EDGE__CORS_ALLOWED_ORIGINS=https://game.example \
    GAMEGATE_LOG__ACCESS_LOG="$work/access-$1.log"
}
status_env() {
  echo GAMEGATE_SERVICES__STATUS_ADDR=127.0.0.1:28081 GAMEGATE_LOG__ACCESS_LOG=off
}
# Starts case $1 (all | status), its command prefixed by $2 (e.g. valgrind …):
# sets pid and url.
start() {
  local vars args
  case "$1" in
    all) vars="$(common_env all) $(edge_env all)"; args="all"; url=http://127.0.0.1:28000/api/server/status ;;
    status) vars="$(common_env status) $(status_env)"; args="serve status"; url=http://127.0.0.1:28081/api/server/status ;;
  esac
  # shellcheck disable=SC2086
  env $vars $2 "$BIN" $args >"$work/$1.out" 2>"$work/$1.err" &
  pid=$!
  pids+=("$pid")
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# The database of `serve status` comes from `all` (it does not migrate by itself).
prepare() {
  start all ""
  wait_http "$url"
  stop "$pid"
  cp "$work/all.db" "$work/status.db"
  cp "$work/all-analytics.db" "$work/status-analytics.db"
}

echo "### $(date -u +%Y-%m-%dT%H:%MZ) · $(nproc) cores · $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo) · $BIN"
echo
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
prepare
for case in status all; do
  name=$([ "$case" = all ] && echo '`gamegate all`, full edge' || echo '`serve status`, no edge')
  if [ "$PERF" = 1 ]; then
    start "$case" ""
    wait_http "$url"
    wrk -t2 -c64 -d2s "$url" >/dev/null
    perf record -q -F 999 -g -p "$pid" -o "$work/perf-$case.data" -- sleep "${DURATION%s}" >/dev/null 2>&1 &
    rec=$!
    wrk -t2 -c64 -d"$DURATION" --latency "$url" >"$work/wrk-$case.txt"
    wait "$rec" || true
    stop "$pid"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$case.txt")
    echo
    perf report -i "$work/perf-$case.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9.]+%' | cut -c1-160 | sed -E 's/ +$//' >"$work/perf-$case.txt" || true
    echo "#### $name: top $TOP frames by self time (perf, server process, wrk -t2 -c64: $rps req/s during the profile)"
    echo
    echo '```text'
    head -n "$TOP" "$work/perf-$case.txt"
    echo '```'
    echo
    echo "In user space (the kernel's share: $(awk '/\[k\]/ {gsub("%", "", $1); k += $1} END {printf "%.0f%%", k}' "$work/perf-$case.txt") of samples):"
    echo
    echo '```text'
    grep -v '\[k\]' "$work/perf-$case.txt" | head -n "$TOP" || true
    echo '```'
  fi
  if [ "$CALLGRIND" = 1 ]; then
    start "$case" "valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$work/cg-$case.out"
    wait_http "$url" 600
    # Warm-up without instrumentation (fast): first-use allocations and lazy
    # initialisation are not what one request costs.
    wrk -t1 -c4 -d3s "$url" >/dev/null
    callgrind_control -i on "$pid" >/dev/null 2>&1
    wrk -t1 -c4 -d"$CG_DURATION" "$url" >"$work/cg-wrk-$case.txt"
    callgrind_control -i off "$pid" >/dev/null 2>&1
    stop "$pid"
    requests=$(awk '/requests in/ {print $1}' "$work/cg-wrk-$case.txt")
    ir=$(callgrind_annotate "$work/cg-$case.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
    echo
    echo "- $name: $(awk -v i="$ir" -v r="$requests" 'BEGIN {printf "%.0f", i/r}') instructions per request (callgrind: $ir instructions over $requests requests, wrk -t1 -c4 -d$CG_DURATION)"
  fi
done
