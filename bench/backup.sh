#!/usr/bin/env bash
# `gamegate backup` and `gamegate doctor` timed on a SQLite database of N
# accounts while `gamegate all` serves on it (release build).
#   bench/backup.sh              # N=10000
#   N=100000 RUNS=5 bench/backup.sh
# Prints a Markdown block for docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-10000}"
RUNS="${RUNS:-5}"
cargo build --release --locked -p gamegate -q
BIN="$PWD/target/release/gamegate"
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"

openssl req -x509 -newkey rsa:2048 -nodes -days 90 -subj "/CN=api.bench.test" \
  -addext "subjectAltName=DNS:api.bench.test" -keyout key.pem -out cert.pem 2>/dev/null
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GAME_PORT=$(port)
cat > gamegate.toml <<TOML
[http]
public_addr = "127.0.0.1:$(port)"
admin_addr = "127.0.0.1:$(port)"
[database]
url = "sqlite://$work/gamegate.db"
[analytics]
url = "sqlite://$work/gamegate-analytics.db"
[game_server]
addr = "127.0.0.1:$GAME_PORT"
[log]
level = "warn"
access_log = "$work/access.log"
[edge]
api_keys = ["$("$BIN" keygen api-key 2>/dev/null)"]
cors_allowed_origins = ["https://bench.test"]
trusted_proxies = ["10.8.0.1"]
[nginx]
server_name = "api.bench.test"
tls_certificate = "$work/cert.pem"
tls_certificate_key = "$work/key.pem"
[backup]
dir = "$work/backups"
keep = 2
TOML

"$BIN" -c gamegate.toml migrate >/dev/null
# N accounts as registration writes them: an Argon2id PHC string per player,
# a Telegram link per account (slots 0-4 of N/5 ids).
sqlite3 gamegate.db <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $N)
INSERT INTO players (login, login_norm, password_hash, gender, state, game_account_id, created_at, updated_at)
SELECT 'bench' || i, 'bench' || i,
       '\$argon2id\$v=19\$m=19456,t=2,p=1\$' || substr(hex(randomblob(16)), 1, 22) || '\$' || substr(hex(randomblob(32)), 1, 43),
       i % 2, 'synced', i + 1, 1795585734 + i, 1795585734 + i FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $N)
INSERT INTO telegram_players (login_norm, telegram_id, slot, username, created_at)
SELECT 'bench' || i, 100000 + i / 5, i % 5, NULL, 1795585734 + i FROM n;
SQL

"$BIN" -c gamegate.toml all >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do "$BIN" -c gamegate.toml healthcheck >/dev/null 2>&1 && break; sleep 0.1; done

ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
backup_times=$(for _ in $(seq "$RUNS"); do s=$(ms); "$BIN" -c gamegate.toml backup >/dev/null; echo $(( $(ms) - s )); done | median)
size=$(stat -c %s "$(ls -t backups/gamegate-accounts-* | head -1)")
db_size=$(stat -c %s gamegate.db)
doctor_times=$(for _ in $(seq "$RUNS"); do s=$(ms); "$BIN" -c gamegate.toml doctor >/dev/null; echo $(( $(ms) - s )); done | median)
"$BIN" -c gamegate.toml doctor | tail -1
# The failing case that waits: a game server that accepts the connection
# but never answers `auth` (bounded by game_server.connect_timeout_ms, 1 s).
SILENT_PORT=$(port)
python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$SILENT_PORT)); s.listen(8); time.sleep(30)" &
silent=$!
sleep 0.3
slow_doctor=$(s=$(ms); GAMEGATE_GAME_SERVER__ADDR=127.0.0.1:$SILENT_PORT "$BIN" -c gamegate.toml doctor >/dev/null 2>&1 || true; echo $(( $(ms) - s )))
kill "$silent"

cat <<MD
### $(date -u +%Y-%m-%d) · gamegate backup and doctor · $(nproc) cores · N=$N accounts · median of $RUNS runs

| what | result |
|---|---|
| accounts database file | $db_size bytes |
| \`gamegate backup\` (accounts + analytics, VACUUM INTO, fsync, rename, retention), wall time incl. process start | $backup_times ms |
| accounts backup file | $size bytes |
| \`gamegate doctor\`, 10 checks passing (telegram not applicable: no bot), wall time incl. process start | $doctor_times ms |
| \`gamegate doctor\` with a game server that accepts but never answers (game_server.connect_timeout_ms = 1000) | $slow_doctor ms |
MD
