#!/usr/bin/env bash
# What sharing the rate limits through Redis costs: `gamegate all` (release
# build) with the status limit on but high enough never to refuse, once with
# edge.rate_limit_store = "memory" and once with Redis, wrk on
# GET /api/server/status. Prints a Markdown table: req/s, p50, p99 of both
# and the ratio (docs/EDGE.md#the-redis-store).
#
#   bench/redis_limits.sh
#   REDIS_URL=redis://10.0.0.5:6379 DURATION=30s bench/redis_limits.sh
#
# Needs: wrk, curl, a Redis (default redis://127.0.0.1:6379; keys under a
# prefix of this run, deleted at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
PREFIX="bench-redis-$$"
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet --bin gamegate
BIN=target/release/gamegate
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX:*" | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null || true
  fi
}
trap cleanup EXIT

wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
# wrk summary → "req/s p50 p99 non2xx"
wrk_line() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$5} END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}' "$1"
}
metric() { curl -fs "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m || $1 == m"{}" {print $2}'; }

# run NAME STORE PUBLIC_PORT ADMIN_PORT → $work/NAME.line: "req/s p50 p99 non2xx"
run() {
  local name=$1 store=$2 port=$3 admin=$4
  GAMEGATE_DATABASE__URL="sqlite://$work/$name.db" GAMEGATE_ANALYTICS__URL="sqlite://$work/$name-analytics.db" \
  GAMEGATE_HTTP__PUBLIC_ADDR=127.0.0.1:$port GAMEGATE_HTTP__ADMIN_ADDR=127.0.0.1:$admin \
  GAMEGATE_GAME_SERVER__ADDR=127.0.0.1:$((port + 1)) GAMEGATE_LOG__LEVEL=warn GAMEGATE_LOG__ACCESS_LOG=off \
  GAMEGATE_EDGE__API_KEYS=bench-api-key-0123456789 \
  GAMEGATE_EDGE__STATUS_PER_MINUTE=1000000000 GAMEGATE_EDGE__STATUS_BURST=1000000000 \
  GAMEGATE_EDGE__RATE_LIMIT_STORE="$store" GAMEGATE_EDGE__RATE_LIMIT_STORE_PREFIX="$PREFIX" \
    "$BIN" all >"$work/$name.out" 2>"$work/$name.err" &
  local pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/api/server/status"
  sleep 1
  wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$port/api/server/status" >"$work/$name.txt"
  if [ "$store" != memory ]; then
    local up fallbacks
    up=$(metric "$admin" gamegate_rate_limit_store_up)
    fallbacks=$(metric "$admin" gamegate_rate_limit_store_fallbacks_total)
    if [ "$up" != 1 ] || [ "${fallbacks:-0}" != 0 ]; then
      echo "the Redis store was not used throughout (up=$up, fallbacks=$fallbacks)" >&2
      exit 1
    fi
  fi
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  wrk_line "$work/$name.txt" >"$work/$name.line"
}

run memory memory 28000 29000
run redis "$REDIS_URL" 28100 29100
read -r m_rps m_p50 m_p99 m_bad <"$work/memory.line"
read -r r_rps r_p50 r_p99 r_bad <"$work/redis.line"
ratio=$(awk -v r="$r_rps" -v m="$m_rps" 'BEGIN {printf "%.2f", r / m}')

echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; Redis $(redis-cli -u "$REDIS_URL" info server 2>/dev/null | awk -F: '/^redis_version/ {print $2}' | tr -d '\r') on ${REDIS_URL#redis://}"
echo "Command: wrk -t2 -c64 -d$DURATION --latency http://127.0.0.1:PORT/api/server/status (one client address: one key)"
echo
echo "| edge.rate_limit_store | req/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|"
echo "| memory | $m_rps | $m_p50 | $m_p99 | $m_bad |"
echo "| redis | $r_rps | $r_p50 | $r_p99 | $r_bad |"
echo
echo "Redis / memory throughput: $ratio"
