#!/usr/bin/env bash
# Two gamegate builds side by side on a noisy machine: both run at once (the
# status route of `gamegate all` with bench/run.sh's full edge, and of
# `serve status`), and wrk alternates between them, ROUNDS times, so both
# see the same background load. Prints the median req/s of each.
#
#   bench/ab.sh /tmp/gamegate-before target/release/gamegate
#
# Needs: wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1 B=$2
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.2; done; echo "no answer from $1" >&2; exit 1; }

# $1 name, $2 binary, $3 port offset
start() {
  local db="sqlite://$work/$1.db" an="sqlite://$work/$1-analytics.db"
  env GAMEGATE_DATABASE__URL="$db" GAMEGATE_ANALYTICS__URL="$an" GAMEGATE_ANALYTICS__SEED_DEMO_HISTORY=false \
    GAMEGATE_LOG__LEVEL=warn GAMEGATE_HTTP__PUBLIC_ADDR="127.0.0.1:$((28000 + $3))" \
    GAMEGATE_HTTP__ADMIN_ADDR="127.0.0.1:$((29000 + $3))" GAMEGATE_GAME_SERVER__ADDR="127.0.0.1:$((25000 + $3))" \
    GAMEGATE_EDGE__API_KEYS=bench-api-key-0123456789 \
    GAMEGATE_EDGE__REGISTER_PER_MINUTE=1000000000 GAMEGATE_EDGE__REGISTER_BURST=1000000000 \
    GAMEGATE_EDGE__STATUS_PER_MINUTE=1000000000 GAMEGATE_EDGE__STATUS_BURST=1000000000 \
    GAMEGATE_EDGE__CORS_ALLOWED_ORIGINS=https://game.example GAMEGATE_EDGE__BAN_ENABLED=true \
    GAMEGATE_LOG__ACCESS_LOG="$work/$1-access.log" "$2" all >"$work/$1.out" 2>"$work/$1.err" &
  pids+=($!)
  wait_http "http://127.0.0.1:$((28000 + $3))/api/server/status"
  env GAMEGATE_DATABASE__URL="$db" GAMEGATE_ANALYTICS__URL="$an" GAMEGATE_LOG__LEVEL=warn \
    GAMEGATE_SERVICES__STATUS_ADDR="127.0.0.1:$((28081 + $3))" GAMEGATE_LOG__ACCESS_LOG=off \
    "$2" serve status >"$work/$1-status.out" 2>"$work/$1-status.err" &
  pids+=($!)
  wait_http "http://127.0.0.1:$((28081 + $3))/api/server/status"
}
start a "$A" 0
start b "$B" 200
rps() { wrk -t2 -c64 -d"$DURATION" "$1" | awk '/Requests\/sec/ {print $2}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
for _ in $(seq 1 "$ROUNDS"); do
  rps http://127.0.0.1:28000/api/server/status >>"$work/a-all"
  rps http://127.0.0.1:28200/api/server/status >>"$work/b-all"
  rps http://127.0.0.1:28081/api/server/status >>"$work/a-status"
  rps http://127.0.0.1:28281/api/server/status >>"$work/b-status"
done
echo "| req/s, median of $ROUNDS alternating wrk -t2 -c64 -d$DURATION runs (load average after them: $(cut -d' ' -f1-3 /proc/loadavg)) | \`$A\` | \`$B\` |"
echo "|---|---|---|"
echo "| \`serve status\` | $(median <"$work/a-status") | $(median <"$work/b-status") |"
echo "| \`gamegate all\`, full edge | $(median <"$work/a-all") | $(median <"$work/b-all") |"
echo "| each run, full edge | $(tr '\n' ' ' <"$work/a-all") | $(tr '\n' ' ' <"$work/b-all") |"
echo "| each run, \`serve status\` | $(tr '\n' ' ' <"$work/a-status") | $(tr '\n' ' ' <"$work/b-status") |"
