#!/usr/bin/env bash
# Times gamegate-analytics' analyse (Weng-Lin ratings + anomaly detection) over
# a synthetic history streamed from the generator, with peak RSS, and prints
# the held-out evaluation on a smaller synthetic set. No database, no network.
#
#   bench/analytics_model.sh                          # 2000 players, 1M battles; eval on 200k
#   BATTLES=200000 EVAL_BATTLES=50000 bench/analytics_model.sh
#
# Needs /usr/bin/time (apt-get install time) for the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYERS=${PLAYERS:-2000}
BATTLES=${BATTLES:-1000000}
EVAL_BATTLES=${EVAL_BATTLES:-200000}
SEED=${SEED:-42}
CHEATERS=${CHEATERS:-0.01}
[ -x /usr/bin/time ] || { echo "/usr/bin/time is required: apt-get install time" >&2; exit 1; }

cargo build --release --quiet -p gamegate-analytics --example analytics_model
BIN=target/release/examples/analytics_model

echo "## analyse over $BATTLES synthetic battles ($(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo))"
/usr/bin/time -v "$BIN" --players "$PLAYERS" --battles "$BATTLES" --seed "$SEED" --cheaters "$CHEATERS" 2>"${TMPDIR:-/tmp}/analytics_model.time"
grep -E 'Maximum resident set size|Elapsed \(wall clock\)' "${TMPDIR:-/tmp}/analytics_model.time" | sed 's/^\s*/  /'
echo
echo "## held-out evaluation on $EVAL_BATTLES synthetic battles (last 25% held out)"
"$BIN" --players "$PLAYERS" --battles "$EVAL_BATTLES" --seed "$SEED" --cheaters "$CHEATERS" --evaluate 0.25
