#!/usr/bin/env bash
# Register throughput of game_server.kind = "azerothcore-db" against protocol
# v1 (the in-process mock) in one run on this machine: `gamegate all` on a
# fresh SQLite database each time, `wrk -t2 -c16` with bench/register.lua
# (every request a new login), production Argon2 (m=19 MiB, t=2). The two
# kinds alternate (v1, azerothcore-db, v1, azerothcore-db) so a drift of the
# machine's load shows in both. The auth database is a scratch database with
# AzerothCore's `account` table on MariaDB 127.0.0.1:3306 (root, no password),
# dropped at the end. Prints a Markdown report.
#
#   bench/wowcore.sh                 # 10 s per row
#   DURATION=20s bench/wowcore.sh
#
# Needs: wrk (apt-get install wrk), mysql client, MariaDB on 127.0.0.1:3306.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }
command -v mysql >/dev/null || { echo "the mysql client is required" >&2; exit 1; }

cargo build --release --quiet --bin gamegate
BIN=${BIN:-target/release/gamegate}
work=$(mktemp -d)
AUTH_DB=gg_bench_wow_auth
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $AUTH_DB" || true
  rm -rf "$work"
}
trap cleanup EXIT

mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $AUTH_DB; CREATE DATABASE $AUTH_DB"
mysql -uroot -h127.0.0.1 "$AUTH_DB" <crates/wowcore/sql/azerothcore_account.sql
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
wrk_line() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$5} END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}' "$1"
}

# run NAME KIND: one `gamegate all` with that connector, one wrk row.
run() {
  local name=$1 kind=$2 dir="$work/$1"
  local public admin game
  public=$(free_port); admin=$(free_port); game=$(free_port)
  mkdir -p "$dir"
  local extra=()
  if [ "$kind" = azerothcore-db ]; then
    extra=(GAMEGATE_GAME_SERVER__EMBEDDED_MOCK=false
           GAMEGATE_GAME_SERVER__AUTH_DB__URL="mysql://root@127.0.0.1:3306/$AUTH_DB"
           GAMEGATE_GAME_SERVER__AUTH_DB__POOL_SIZE=16)
  fi
  env GAMEGATE_DATABASE__URL="sqlite://$dir/gamegate.db" GAMEGATE_ANALYTICS__URL="sqlite://$dir/analytics.db" \
    GAMEGATE_HTTP__PUBLIC_ADDR=127.0.0.1:$public GAMEGATE_HTTP__ADMIN_ADDR=127.0.0.1:$admin \
    GAMEGATE_GAME_SERVER__ADDR=127.0.0.1:$game GAMEGATE_GAME_SERVER__KIND="$kind" GAMEGATE_LOG__LEVEL=warn \
    GAMEGATE_LOG__ACCESS_LOG=off GAMEGATE_EDGE__API_KEYS=bench-api-key-0123456789 \
    GAMEGATE_EDGE__REGISTER_PER_MINUTE=1000000000 GAMEGATE_EDGE__REGISTER_BURST=1000000000 \
    GAMEGATE_ANALYTICS__SEED_DEMO_HISTORY=false "${extra[@]}" \
    "$BIN" all >"$dir/out" 2>"$dir/err" &
  local gg=$!
  pids+=("$gg")
  wait_http "http://127.0.0.1:$public/api/server/status" || { cat "$dir/err" >&2; exit 1; }
  sleep 1
  wrk -t2 -c16 -d"$DURATION" --latency -s bench/register.lua "http://127.0.0.1:$public" -- "$name" >"$dir/wrk.txt"
  local ok
  ok=$(curl -fs "http://127.0.0.1:$admin/metrics" | awk '/^gamegate_registrations_total\{outcome="ok"\}/ {print $2}')
  kill "$gg" 2>/dev/null || { echo "gamegate ($kind) had stopped:" >&2; cat "$dir/err" >&2; }
  wait "$gg" 2>/dev/null || true
  read -r rps p50 p99 bad < <(wrk_line "$dir/wrk.txt")
  echo "$kind $rps $p50 $p99 $bad ${ok:-?}" >>"$work/rows"
}

run v1a v1
run acda azerothcore-db
run v1b v1
run acdb azerothcore-db
rows_in_auth=$(mysql -uroot -h127.0.0.1 -N -e "SELECT COUNT(*) FROM $AUTH_DB.account")

mean() { awk -v k="$1" '$1 == k {s += $2; n++} END {printf "%.2f", s / n}' "$work/rows"; }
v1=$(mean v1); db=$(mean azerothcore-db)
cat <<REPORT
### $(date -u +%Y-%m-%d) · azerothcore-db vs v1 · $(nproc) cores · wrk -t2 -c16 ${DURATION} per row

$(date -u +%H:%M) UTC, \`$BIN\` (tree at commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average before the run: $load_before. gamegate's database: SQLite (a fresh file per row); the auth database: MariaDB $(mysql -uroot -h127.0.0.1 -N -e 'SELECT VERSION()') on loopback, AzerothCore's \`account\` table, a pool of 16.

| connector | req/s | p50 | p99 | non-2xx | registrations ok |
|---|---|---|---|---|---|
$(awk '{printf "| `%s` | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$work/rows")

- mean: v1 $v1 req/s, azerothcore-db $db req/s → azerothcore-db at $(awk -v a="$db" -v b="$v1" 'BEGIN {printf "%.1f%%", 100*a/b}') of v1 (target ≥ 90%)
- rows in the auth database after the azerothcore-db rows: $rows_in_auth
REPORT
