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
  mkdir "$work/new"
  echo "== $target: $RUNS executions"
  # A build failure or a crash must fail the script (CI runs it), so the
  # exit status is kept rather than lost in a pipe.
  status=0
  cargo fuzz run "$target" "$work/new" "corpus/$target" -- -runs="$RUNS" -max_len=4096 \
    >"$work/log" 2>&1 || status=$?
  grep -E "^#[0-9]+ +DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY" "$work/log" || true
  if [ "$status" -ne 0 ] || ls artifacts/"$target"/crash-* >/dev/null 2>&1; then
    tail -40 "$work/log" >&2
    echo "FAILED: $target (exit $status; crashes, if any, in fuzz/artifacts/$target)" >&2
    rm -rf "$work"
    exit 1
  fi
  rm -rf "$work"
done
