#!/usr/bin/env bash
# Soak with faults, long form (the 30-second form runs in `cargo test`:
# crates/gamegate/tests/soak.rs). Bounded mixed load at `gamegate all` while
# the external mock game server is killed and restarted, slowed past the call
# timeout, and the MariaDB connections are dropped; then checks both stores
# and the RSS series (crates/soak, docs/RELIABILITY.md).
#
#   bench/soak.sh                          # 10 minutes, 100 requests/s
#   DURATION=300 RATE=50 bench/soak.sh
#   MYSQL_URL=mysql://root@127.0.0.1:3306/test JSON=docs/soak.json bench/soak.sh
#
# Needs MariaDB/MySQL (the soak creates and drops its own gg_test_soak_* database).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-600}
RATE=${RATE:-100}
CONCURRENCY=${CONCURRENCY:-32}
REGISTER_SHARE=${REGISTER_SHARE:-0.3}
RSS_TOLERANCE_PCT=${RSS_TOLERANCE_PCT:-20}
MYSQL_URL=${MYSQL_URL:-${GAMEGATE_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/test}}
JSON=${JSON:-target/soak.json}

cargo build --release --quiet -p gamegate --bin gamegate -p gamegate-soak --bin gamegate-soak
echo "== soak: ${DURATION} s at ${RATE}/s ($(nproc) cores, $(date -u +%FT%TZ))"
target/release/gamegate-soak --gamegate target/release/gamegate --mysql-url "$MYSQL_URL" \
  --duration-secs "$DURATION" --rate "$RATE" --concurrency "$CONCURRENCY" \
  --register-share "$REGISTER_SHARE" --rss-tolerance-pct "$RSS_TOLERANCE_PCT" --json "$JSON"
echo "report: $JSON"
