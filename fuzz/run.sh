#!/usr/bin/env bash
# Runs every fuzz target for a fixed number of executions from the committed
# seed corpora (new inputs go to a temporary directory, not into git).
#
#   fuzz/run.sh            # 200 000 executions per target
#   RUNS=5000000 fuzz/run.sh
#
# Needs cargo-fuzz (cargo install cargo-fuzz). cargo-fuzz needs nightly
# flags; with the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${RUNS:-200000}
export RUSTC_BOOTSTRAP=1
for target in register_body protocol_lines telegram_auth config_parse; do
  work=$(mktemp -d)
  echo "== $target: $RUNS executions"
  cargo fuzz run "$target" "$work" "corpus/$target" -- -runs="$RUNS" -max_len=4096 2>&1 \
    | grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
  rm -rf "$work"
  if ls artifacts/"$target"/crash-* >/dev/null 2>&1; then
    echo "CRASH in $target: see fuzz/artifacts/$target" >&2
    exit 1
  fi
done
