#!/usr/bin/env bash
# The statistics service against real databases (release build):
#   1. ingestion rate: `gamegate battles import` of a synthetic JSONL file,
#      in participants per second, into SQLite, PostgreSQL and MariaDB;
#   2. `gamegate ratings rebuild` time over every stored battle;
#   3. GET /stats/leaderboard latency (p50/p99 of wrk, 1 thread, 4 connections,
#      10 s) on `gamegate serve stats` over the full history.
#
#   bench/analytics.sh                      # 1,000,000 battles of 10,000 players
#   BATTLES=200000 bench/analytics.sh       # smaller
#   BACKENDS=sqlite bench/analytics.sh      # one backend only (sqlite, postgres, mysql)
#   NO_BUILD=1 bench/analytics.sh           # the release binary as it is
#
# PostgreSQL: PG_URL (default postgres://postgres@127.0.0.1:5432/postgres);
# MariaDB/MySQL: MYSQL_URL (default mysql://root@127.0.0.1:3306/mysql). The
# script creates and drops its own database gg_bench_analytics on each.
# At the end it compares the import rates of the run: PostgreSQL must import
# at least as fast as SQLite (exit 1 otherwise).
# Needs wrk, psql (postgres) and mysql or mariadb (mysql). Results go to stdout; docs/ANALYTICS.md#benchmarks has
# the last run's numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS=${PLAYERS:-10000}
BATTLES=${BATTLES:-1000000}
SEED=${SEED:-42}
BATCH=${BATCH:-1000}
BACKENDS=${BACKENDS:-"sqlite postgres mysql"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306/mysql}
MYSQL_CLI=$(command -v mariadb || command -v mysql || true)
# `mysql://user[:pass]@host:port/db` as client arguments.
mysql_cli() {
    local rest=${MYSQL_URL#*://} auth host
    auth=${rest%@*}; host=${rest#*@}; host=${host%%/*}
    local args=(-u "${auth%%:*}" -h "${host%%:*}" -P "${host##*:}" --protocol=tcp)
    [[ $auth == *:* ]] && args+=("-p${auth#*:}")
    "$MYSQL_CLI" "${args[@]}" "$@"
}
PORT=${PORT:-18084}
for tool in wrk curl; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
case " $BACKENDS " in *" postgres "*) command -v psql >/dev/null || { echo "psql is required" >&2; exit 1; } ;; esac
case " $BACKENDS " in *" mysql "*) [ -n "$MYSQL_CLI" ] || { echo "mysql or mariadb is required" >&2; exit 1; } ;; esac

# NO_BUILD=1: use the target/release/gamegate already there.
[ "${NO_BUILD:-0}" = 1 ] || cargo build --release --quiet -p gamegate
BIN=$PWD/target/release/gamegate
WORK=$(mktemp -d)
declare -A RATE
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
    psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS gg_bench_analytics" >/dev/null 2>&1 || true
    [ -n "$MYSQL_CLI" ] && mysql_cli -e "DROP DATABASE IF EXISTS gg_bench_analytics" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "# bench/analytics.sh — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $BATTLES battles of $PLAYERS players, seed $SEED, batch $BATCH"
FILE=$WORK/battles.jsonl
"$BIN" battles synth --players "$PLAYERS" --battles "$BATTLES" --seed "$SEED" --out "$FILE"
echo "  file: $(du -h "$FILE" | cut -f1), $(wc -l <"$FILE") lines"

for backend in $BACKENDS; do
    case $backend in
        sqlite) URL="sqlite://$WORK/analytics.db" ;;
        postgres)
            psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS gg_bench_analytics" >/dev/null
            psql -q "$PG_URL" -c "CREATE DATABASE gg_bench_analytics" >/dev/null
            URL="${PG_URL%/*}/gg_bench_analytics"
            ;;
        mysql)
            mysql_cli -e "DROP DATABASE IF EXISTS gg_bench_analytics; CREATE DATABASE gg_bench_analytics CHARACTER SET utf8mb4"
            URL="${MYSQL_URL%/*}/gg_bench_analytics"
            ;;
        *) echo "unknown backend $backend" >&2; exit 1 ;;
    esac
    export GAMEGATE_ANALYTICS__URL=$URL
    # serve stats also opens the accounts database (the registration reports).
    export GAMEGATE_DATABASE__URL="sqlite://$WORK/accounts-$backend.db"
    export GAMEGATE_LOG__LEVEL=warn GAMEGATE_LOG__ACCESS_LOG=off
    # The anomaly pass runs in the background of serve stats; keep it out of
    # the latency run.
    export GAMEGATE_ANALYTICS__ANOMALIES_REFRESH_SECS=86400
    echo
    echo "## $backend"
    imported=$("$BIN" battles import "$FILE" --batch "$BATCH" 2>/dev/null)
    echo "- import: $imported"
    # "… (123456 participants/s)"
    RATE[$backend]=$(sed -nE 's/.*\(([0-9]+) participants\/s\).*/\1/p' <<<"$imported" | head -1)
    echo "- rebuild: $("$BIN" ratings rebuild 2>/dev/null)"

    export GAMEGATE_SERVICES__STATS_ADDR=127.0.0.1:$PORT
    # wrk is one client: the per-IP limits of the public routes off (0/0).
    export GAMEGATE_EDGE__STATS_PER_MINUTE=0 GAMEGATE_EDGE__STATS_BURST=0
    "$BIN" serve stats >"$WORK/serve.log" 2>&1 &
    SERVER=$!
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:$PORT/internal/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    # Wait for the first anomaly pass (it reads every battle) to finish, so
    # it does not compete with the latency run.
    for _ in $(seq 1 3000); do
        curl -sf "http://127.0.0.1:$PORT/ml/anomalies" >/dev/null 2>&1 && break
        sleep 0.2
    done
    for query in "mode=pvp&limit=100&min_battles=20" "mode=all&limit=10"; do
        echo "- GET /stats/leaderboard?$query (wrk -t1 -c4 -d10s --latency):"
        wrk -t1 -c4 -d10s --latency "http://127.0.0.1:$PORT/stats/leaderboard?$query" |
            grep -E '^\s+(50|99)%|Requests/sec|Non-2xx' | sed 's/^\s*/    /'
    done
    player=$(curl -s "http://127.0.0.1:$PORT/stats/leaderboard?limit=1" | sed -E 's/.*"login":"([^"]+)".*/\1/')
    echo "- GET /stats/players/$player (wrk -t1 -c4 -d5s --latency):"
    wrk -t1 -c4 -d5s --latency "http://127.0.0.1:$PORT/stats/players/$player" |
        grep -E '^\s+(50|99)%|Requests/sec|Non-2xx' | sed 's/^\s*/    /'
    kill "$SERVER"
    wait "$SERVER" 2>/dev/null || true
    SERVER=
done

echo
echo "## import rates (participants/s)"
for backend in $BACKENDS; do echo "- $backend: ${RATE[$backend]}"; done
if [ -n "${RATE[postgres]:-}" ] && [ -n "${RATE[sqlite]:-}" ]; then
    if [ "${RATE[postgres]}" -ge "${RATE[sqlite]}" ]; then
        echo "PostgreSQL imports at least as fast as SQLite: $(awk "BEGIN {printf \"%.2f\", ${RATE[postgres]} / ${RATE[sqlite]}}")×"
    else
        echo "FAIL: PostgreSQL imports slower than SQLite in this run" >&2
        exit 1
    fi
fi
