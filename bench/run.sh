#!/usr/bin/env bash
# Load benchmark of gamegate all (status + register) beside a bare axum ceiling,
# on this machine, with wrk on loopback. Prints a Markdown report to stdout.
#
#   bench/run.sh                      # SQLite (default)
#   BENCH_DB=mysql bench/run.sh       # MariaDB on 127.0.0.1:3306 (root, no password)
#   BENCH_DB=postgres bench/run.sh    # PostgreSQL on 127.0.0.1:5432 (trust)
#
# Needs: wrk (apt-get install wrk). Builds the release binary and examples.
#
# Registration is measured through both connectors in the same run: protocol v1
# against the in-process mock, and the HTTP connector (game_server.kind = "http")
# against examples/bench_receiver.rs (the Rust mock receiver, signatures checked) on
# a second `gamegate all` with its own database. On a shared machine the load of
# other processes comes and goes, so the two 16-connection register rows run in
# REG_ROUNDS alternating rounds (default 3, at most 4: register.lua reuses
# Telegram ids across runs, 5 accounts each) and each row reports its median round.
# Also writes the figures as JSON (RESULTS_JSON, default bench/results/<backend>.json)
# for bench/plot.sh, which renders docs/benchmarks.png from them.
#
# The status rows, in one run and against one another: the bare axum ceiling,
# `serve status` (no edge) and `gamegate all` through the full in-process edge
# as production runs it — every limit on (raised so wrk is never refused), a
# CORS allow-list, the ban jail on, the access log to a file. Instructions per
# request and flame summaries: bench/profile.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
REG_ROUNDS=${REG_ROUNDS:-3}
[ "$REG_ROUNDS" -ge 1 ] && [ "$REG_ROUNDS" -le 4 ] || { echo "REG_ROUNDS must be 1 to 4" >&2; exit 1; }
BENCH_DB=${BENCH_DB:-sqlite}
RESULTS_JSON=${RESULTS_JSON:-bench/results/$BENCH_DB.json}
command -v wrk >/dev/null || { echo "wrk is required: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet --bin gamegate --example bench_hello --example bench_argon2 --example bench_receiver
# BIN=… measures another gamegate build (e.g. one from before a change) against the same ceiling.
BIN=${BIN:-target/release/gamegate}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

case "$BENCH_DB" in
  sqlite) DB_URL="sqlite://$work/bench.db"; HTTP_DB_URL="sqlite://$work/bench-http.db" ;;
  mysql)
    mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS gg_bench; CREATE DATABASE gg_bench; DROP DATABASE IF EXISTS gg_bench_http; CREATE DATABASE gg_bench_http"
    DB_URL="mysql://root@127.0.0.1:3306/gg_bench"; HTTP_DB_URL="mysql://root@127.0.0.1:3306/gg_bench_http" ;;
  postgres)
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS gg_bench" -c "CREATE DATABASE gg_bench" \
      -c "DROP DATABASE IF EXISTS gg_bench_http" -c "CREATE DATABASE gg_bench_http"
    DB_URL="postgres://postgres@127.0.0.1:5432/gg_bench"; HTTP_DB_URL="postgres://postgres@127.0.0.1:5432/gg_bench_http" ;;
  *) echo "BENCH_DB must be sqlite, mysql or postgres" >&2; exit 1 ;;
esac

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_http() { for _ in $(seq 1 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
# wrk summary → "req/s p50 p99 non2xx"
wrk_line() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$5} END {printf "%s %s %s %s\n", rps, p50, p99, (bad==""?0:bad)}' "$1"
}

"target/release/examples/bench_hello" 127.0.0.1:18080 >/dev/null & pids+=($!)
GAMEGATE_DATABASE__URL="$DB_URL" GAMEGATE_ANALYTICS__URL="sqlite://$work/analytics.db" \
GAMEGATE_HTTP__PUBLIC_ADDR=127.0.0.1:18000 GAMEGATE_HTTP__ADMIN_ADDR=127.0.0.1:19000 \
GAMEGATE_GAME_SERVER__ADDR=127.0.0.1:15190 GAMEGATE_LOG__LEVEL=warn \
GAMEGATE_EDGE__API_KEYS=bench-api-key-0123456789 \
GAMEGATE_EDGE__REGISTER_PER_MINUTE=1000000000 GAMEGATE_EDGE__REGISTER_BURST=1000000000 \
GAMEGATE_EDGE__STATUS_PER_MINUTE=1000000000 GAMEGATE_EDGE__STATUS_BURST=1000000000 \
GAMEGATE_EDGE__CORS_ALLOWED_ORIGINS=https://game.example GAMEGATE_EDGE__BAN_ENABLED=true \
GAMEGATE_LOG__ACCESS_LOG="$work/access.log" \
  "$BIN" all >"$work/gamegate.out" 2>"$work/gamegate.err" & gg=$!; pids+=($gg)
# Started once `all` has migrated the shared database: two processes migrating
# one fresh SQLite file at once can find it locked.
wait_http http://127.0.0.1:18000/api/server/status
# The same `gamegate all` (edge, access log, limits) with the HTTP connector, on its
# own database, calling the Rust mock receiver; idle while the other rows run.
"target/release/examples/bench_receiver" 127.0.0.1:18190 >"$work/receiver.out" 2>&1 & pids+=($!)
GAMEGATE_DATABASE__URL="$HTTP_DB_URL" GAMEGATE_ANALYTICS__URL="sqlite://$work/analytics-http.db" \
GAMEGATE_HTTP__PUBLIC_ADDR=127.0.0.1:18100 GAMEGATE_HTTP__ADMIN_ADDR=127.0.0.1:19100 \
GAMEGATE_GAME_SERVER__KIND=http GAMEGATE_GAME_SERVER__HTTP__URL=http://127.0.0.1:18190 \
GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET=bench-signing-secret-0123456789abcdef GAMEGATE_LOG__LEVEL=warn \
GAMEGATE_EDGE__API_KEYS=bench-api-key-0123456789 \
GAMEGATE_EDGE__REGISTER_PER_MINUTE=1000000000 GAMEGATE_EDGE__REGISTER_BURST=1000000000 \
GAMEGATE_EDGE__STATUS_PER_MINUTE=1000000000 GAMEGATE_EDGE__STATUS_BURST=1000000000 \
GAMEGATE_EDGE__CORS_ALLOWED_ORIGINS=https://game.example GAMEGATE_EDGE__BAN_ENABLED=true \
GAMEGATE_LOG__ACCESS_LOG="$work/access-http.log" \
  "$BIN" all >"$work/gamegate-http.out" 2>"$work/gamegate-http.err" & pids+=($!)
wait_http http://127.0.0.1:18100/api/server/status
# The same status route with no edge at all: the split status service.
GAMEGATE_DATABASE__URL="$DB_URL" GAMEGATE_ANALYTICS__URL="sqlite://$work/analytics.db" GAMEGATE_SERVICES__STATUS_ADDR=127.0.0.1:18081 \
GAMEGATE_LOG__LEVEL=warn GAMEGATE_LOG__ACCESS_LOG=off \
  "$BIN" serve status >"$work/status.out" 2>"$work/status.err" & pids+=($!)
wait_http http://127.0.0.1:18080/api/server/status
wait_http http://127.0.0.1:18000/api/server/status
wait_http http://127.0.0.1:18081/api/server/status
sleep 1
idle_rss=$(rss_kb "$gg")

wrk -t2 -c64 -d"$DURATION" --latency http://127.0.0.1:18080/api/server/status >"$work/hello.txt"
wrk -t2 -c64 -d"$DURATION" --latency http://127.0.0.1:18081/api/server/status >"$work/bare.txt"
read -r b_rps b_p50 b_p99 b_bad < <(wrk_line "$work/bare.txt")
wrk -t2 -c64 -d"$DURATION" --latency http://127.0.0.1:18000/api/server/status >"$work/status.txt"
status_rss=$(rss_kb "$gg")

# nginx (rendered by `gamegate render nginx`, TLS, limits raised) → serve status.
nginx_row="| nginx (TLS) → \`serve status\` | 64 | not run: nginx or openssl missing | | | |"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$NGINX" ] && command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  cat >"$work/gamegate.toml" <<TOML
[edge]
api_keys = ["bench-api-key-0123456789"]
register_per_minute = 1000000000
register_burst = 1000000000
status_per_minute = 1000000000
status_burst = 1000000000
cors_allowed_origins = ["https://game.example"]
[nginx]
server_name = "localhost"
listen_https = ["127.0.0.1:18443"]
listen_http = []
tls_certificate = "$work/cert.pem"
tls_certificate_key = "$work/key.pem"
register_upstreams = ["127.0.0.1:18081"]
status_upstreams = ["127.0.0.1:18081"]
access_log = "$work/nginx-access.log"
error_log = "$work/nginx-error.log"
acme_webroot = "$work/acme"
TOML
  "$BIN" render nginx --config "$work/gamegate.toml" --out "$work/site.conf" 2>/dev/null
  mkdir -p "$work/acme"
  cat >"$work/nginx.conf" <<CONF
user root;
worker_processes 1;
events { worker_connections 1024; }
http {
  client_body_temp_path $work/tmp_body; proxy_temp_path $work/tmp_proxy;
  fastcgi_temp_path $work/tmp_fastcgi; uwsgi_temp_path $work/tmp_uwsgi; scgi_temp_path $work/tmp_scgi;
  include $work/site.conf;
}
CONF
  "$NGINX" -p "$work" -c "$work/nginx.conf" -g "daemon off; pid $work/nginx.pid; error_log stderr;" 2>"$work/nginx.err" & pids+=($!)
  for _ in $(seq 1 50); do curl -ksf https://127.0.0.1:18443/api/server/status >/dev/null && break; sleep 0.1; done
  wrk -t2 -c64 -d"$DURATION" --latency https://127.0.0.1:18443/api/server/status >"$work/nginx.txt"
  read -r n_rps n_p50 n_p99 n_bad < <(wrk_line "$work/nginx.txt")
  n_json=$n_rps
  nginx_row="| nginx (TLS, rendered config) → \`serve status\` | 64 | $n_rps | $n_p50 | $n_p99 | $n_bad |"
  nginx_ratio="- through nginx / no edge: $(awk -v a="$n_rps" -v b="$b_rps" 'BEGIN {printf "%.0f%%", 100*a/b}') (nginx 1 worker with TLS and gamegate share the 2 cores with wrk)"
fi
wrk -t1 -c1 -d"$DURATION" --latency -s bench/register.lua http://127.0.0.1:18000 -- a >"$work/reg1.txt"
for round in $(seq 1 "$REG_ROUNDS"); do
  wrk -t2 -c16 -d"$DURATION" --latency -s bench/register.lua http://127.0.0.1:18000 -- "b$round" >"$work/reg16_$round.txt"
  wrk -t2 -c16 -d"$DURATION" --latency -s bench/register.lua http://127.0.0.1:18100 -- "h$round" >"$work/reg16http_$round.txt"
done
# The round with the median req/s stands for each row; every round is listed below.
median_round() {
  for f in "$@"; do echo "$(wrk_line "$f" | cut -d' ' -f1) $f"; done | sort -n | awk '{f[NR] = $2} END {print f[int((NR + 1) / 2)]}'
}
rounds() { for f in "$@"; do wrk_line "$f" | cut -d' ' -f1; done | paste -sd' ' -; }
cp "$(median_round "$work"/reg16_*.txt)" "$work/reg16.txt"
cp "$(median_round "$work"/reg16http_*.txt)" "$work/reg16http.txt"
loaded_rss=$(rss_kb "$gg")
hash=$("target/release/examples/bench_argon2")

read -r h_rps h_p50 h_p99 h_bad < <(wrk_line "$work/hello.txt")
read -r s_rps s_p50 s_p99 s_bad < <(wrk_line "$work/status.txt")
read -r r1_rps r1_p50 r1_p99 r1_bad < <(wrk_line "$work/reg1.txt")
read -r r16_rps r16_p50 r16_p99 r16_bad < <(wrk_line "$work/reg16.txt")
read -r rh_rps rh_p50 rh_p99 rh_bad < <(wrk_line "$work/reg16http.txt")
accounts=$(curl -fs http://127.0.0.1:19000/metrics | awk -F' ' '/^gamegate_registrations_total\{outcome="ok"\}/ {print $2}')

hash_ms=$(sed -E 's/.*: ([0-9.]+) ms per hash.*/\1/' <<<"$hash")
mkdir -p "$(dirname "$RESULTS_JSON")"
cat >"$RESULTS_JSON" <<JSON
{
  "date": "$(date -u +%Y-%m-%dT%H:%MZ)",
  "backend": "$BENCH_DB",
  "cores": $(nproc),
  "cpu": "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)",
  "duration": "$DURATION",
  "load_before": "$load_before",
  "status_p99": { "ceiling": "$h_p99", "no_edge": "$b_p99", "edge": "$s_p99" },
  "status_rps": {
    "ceiling": $h_rps,
    "no_edge": $b_rps,
    "edge": $s_rps,
    "nginx": ${n_json:-null}
  },
  "register_rps": { "c1": $r1_rps, "c16": $r16_rps, "c16_http": $rh_rps },
  "register_p50": { "c1": "$r1_p50", "c16": "$r16_p50", "c16_http": "$rh_p50" },
  "hash_ms": $hash_ms,
  "rss_mib": { "idle": $((idle_rss / 1024)), "after_status": $((status_rss / 1024)), "after_register": $((loaded_rss / 1024)) }
}
JSON

pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f", 100*a/b}'; }
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) {sub(/us$/, "", v); printf "%.2f", v/1000} else if (v ~ /ms$/) {sub(/ms$/, "", v); printf "%.2f", v} else if (v ~ /s$/) {sub(/s$/, "", v); printf "%.2f", v*1000} else print v }'; }
met() { [ "$1" = 1 ] && echo met || echo "**not met**"; }
edge_ceiling=$(pct "$s_rps" "$h_rps"); edge_bare=$(pct "$s_rps" "$b_rps"); bare_ceiling=$(pct "$b_rps" "$h_rps")
http_v1=$(pct "$rh_rps" "$r16_rps")
s_p99_ms=$(ms "$s_p99")
cat <<REPORT
### $(date -u +%Y-%m-%d) · backend: $BENCH_DB · $(nproc) cores · wrk ${DURATION} per row

$(date -u +%H:%M) UTC, \`$BIN\` (tree at commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average before the run: $load_before.

| what | connections | req/s | p50 | p99 | non-2xx |
|---|---|---|---|---|---|
| bare axum status JSON (ceiling) | 64 | $h_rps | $h_p50 | $h_p99 | $h_bad |
| gamegate \`serve status\`: status, no edge | 64 | $b_rps | $b_p50 | $b_p99 | $b_bad |
| gamegate \`all\`: status through the full in-process edge | 64 | $s_rps | $s_p50 | $s_p99 | $s_bad |
$nginx_row
| gamegate \`POST /api/register\` | 1 | $r1_rps | $r1_p50 | $r1_p99 | $r1_bad |
| gamegate \`POST /api/register\` | 16 | $r16_rps | $r16_p50 | $r16_p99 | $r16_bad |
| gamegate \`POST /api/register\`, HTTP connector (Rust receiver) | 16 | $rh_rps | $rh_p50 | $rh_p99 | $rh_bad |

- status through the edge / ceiling: $(awk -v a="$s_rps" -v b="$h_rps" 'BEGIN {printf "%.0f%%", 100*a/b}'); without the edge / ceiling: $(awk -v a="$b_rps" -v b="$h_rps" 'BEGIN {printf "%.0f%%", 100*a/b}')
- cost of the in-process edge (limits on, CORS allow-list, access log to a file): $(awk -v a="$s_rps" -v b="$b_rps" 'BEGIN {printf "%.1f%%", 100*(1-a/b)}') of the no-edge throughput
${nginx_ratio:-}
- access-log lines written: $(wc -l <"$work/access.log"), dropped: $(curl -fs http://127.0.0.1:19000/metrics | awk '/^gamegate_access_log_dropped_lines_total/ {n += $2} END {print n + 0}')
- $hash; target register rate = 0.9 × $(nproc) cores ÷ hash time
- accounts created (registrations_total ok): ${accounts:-?}
- RSS: idle $((idle_rss / 1024)) MiB · after status load $((status_rss / 1024)) MiB · after register load $((loaded_rss / 1024)) MiB
- register at 16 connections, req/s of each round ($REG_ROUNDS alternating rounds, median in the table): v1 $(rounds "$work"/reg16_*.txt) · HTTP connector $(rounds "$work"/reg16http_*.txt)
- status codes of the median 16-connection register round: $(grep '^status' "$work/reg16.txt" | tr '\n' ' '); through the HTTP connector: $(grep '^status' "$work/reg16http.txt" | tr '\n' ' ')

| target (wrk -t2 -c64, status) | measured | |
|---|---|---|
| full edge ≥ 75% of bare axum | $edge_ceiling% | $(met "$(awk -v a="$edge_ceiling" 'BEGIN {print (a >= 75)}')") |
| full edge ≥ 85% of \`serve status\` | $edge_bare% | $(met "$(awk -v a="$edge_bare" 'BEGIN {print (a >= 85)}')") |
| full edge p99 < 5 ms | $s_p99_ms ms | $(met "$(awk -v a="$s_p99_ms" 'BEGIN {print (a < 5)}')") |
| \`serve status\` / bare axum (no target; where the no-edge path stands) | $bare_ceiling% | |
| register at 16 connections, HTTP connector ≥ 90% of v1 | $http_v1% | $(met "$(awk -v a="$http_v1" 'BEGIN {print (a >= 90)}')") |
REPORT
