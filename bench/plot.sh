#!/usr/bin/env bash
# Renders a bench/run.sh JSON result as docs/benchmarks.png with matplotlib,
# installed from PyPI into a virtualenv under target/ (nothing system-wide).
#
#   bench/plot.sh [bench/results/sqlite.json] [docs/benchmarks.png]
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${1:-bench/results/sqlite.json}
OUT=${2:-docs/benchmarks.png}
VENV=target/bench-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet 'matplotlib>=3.8,<4'
fi
"$VENV/bin/python" bench/plot.py "$RESULTS" "$OUT"
echo "wrote $OUT from $RESULTS"
