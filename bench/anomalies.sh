#!/usr/bin/env bash
# Quality of the anomaly flags against planted cheaters (recall, precision),
# and how many honest players a long history flags. Release build, no
# database, no network.
#
#   bench/anomalies.sh                  # seeds 1-10 of 500 players x 30k battles (20 cheaters each),
#                                       # then 5000 honest players x 1M battles (seed 1)
#   LONG_SEEDS=1-3 bench/anomalies.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${SEEDS:-1-10}
LONG_SEEDS=${LONG_SEEDS:-1-1}
cargo build --release --quiet -p gamegate-analytics --example anomaly_quality
BIN=target/release/examples/anomaly_quality
echo "## planted cheaters ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo))"
"$BIN" --players 500 --battles 30000 --cheaters 0.04 --seeds "$SEEDS"
echo
echo "## honest players only: 5000 players, 1000000 battles"
"$BIN" --players 5000 --battles 1000000 --cheaters 0 --seeds "$LONG_SEEDS"
