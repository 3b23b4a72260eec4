#!/usr/bin/env bash
# Property-based API testing: schemathesis generates requests from the OpenAPI
# document gamegate serves (/openapi.json) and checks every answer against it
# (no 5xx, status codes, content types, headers and bodies as documented,
# invalid data refused, valid data accepted, the API key enforced).
#
#   bench/schemathesis.sh             # 120 s budget
#   MAX_TIME=600 bench/schemathesis.sh
#   MAX_EXAMPLES=30 bench/schemathesis.sh   # instead: at most 30 cases per operation and phase (CI)
#
# Installs schemathesis from PyPI into target/schemathesis-venv on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_TIME=${MAX_TIME:-120}
KEY=schemathesis-key-0123456789

venv=target/schemathesis-venv
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet schemathesis
fi
cargo build --quiet --bin gamegate
work=$(mktemp -d)
cleanup() { kill "$gg" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Limits and the ban jail off: they would answer 429/403 to a generator that
# sends thousands of requests from one address (the edge has its own tests).
GAMEGATE_DATABASE__URL="sqlite://$work/a.db" GAMEGATE_ANALYTICS__URL="sqlite://$work/b.db" \
GAMEGATE_HTTP__PUBLIC_ADDR=127.0.0.1:28000 GAMEGATE_HTTP__ADMIN_ADDR=127.0.0.1:29000 \
GAMEGATE_GAME_SERVER__ADDR=127.0.0.1:25190 GAMEGATE_LOG__LEVEL=warn GAMEGATE_LOG__ACCESS_LOG=off \
GAMEGATE_EDGE__API_KEYS=$KEY GAMEGATE_EDGE__REGISTER_PER_MINUTE=0 GAMEGATE_EDGE__STATUS_PER_MINUTE=0 \
GAMEGATE_EDGE__STATS_PER_MINUTE=0 GAMEGATE_EDGE__PREDICT_PER_MINUTE=0 GAMEGATE_EDGE__NOT_FOUND_PER_MINUTE=0 \
GAMEGATE_EDGE__BAN_ENABLED=false GAMEGATE_PASSWORD_HASH__MEMORY_KIB=1024 GAMEGATE_PASSWORD_HASH__ITERATIONS=1 \
  target/debug/gamegate all >"$work/out.txt" 2>"$work/err.txt" & gg=$!
for _ in $(seq 1 100); do curl -fs http://127.0.0.1:28000/health >/dev/null 2>&1 && break; sleep 0.1; done

# A case count bounds the run when given (the fuzzing phase would otherwise
# keep generating until the time budget is spent).
if [ -n "${MAX_EXAMPLES:-}" ]; then budget=(--max-examples "$MAX_EXAMPLES"); else budget=(--max-time "$MAX_TIME"); fi
"$venv/bin/st" --config-file bench/schemathesis.toml run http://127.0.0.1:28000/openapi.json --checks all \
  -H "X-API-Key: $KEY" "${budget[@]}"
if grep -q "panicked" "$work/err.txt"; then
  echo "gamegate logged a panic:" >&2; grep -A5 panicked "$work/err.txt" >&2; exit 1
fi
