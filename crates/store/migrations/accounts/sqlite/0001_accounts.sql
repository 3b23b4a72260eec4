-- Accounts, Telegram links and constants (SQLite).
-- Invariants live here, not in Rust: a unique normalised login, at most
-- `limit` rows per telegram_id through UNIQUE(telegram_id, slot), the seed's
-- login-length CHECK.
CREATE TABLE players (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    login           TEXT    NOT NULL,
    login_norm      TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    gender          INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    game_account_id INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CONSTRAINT check_login_length CHECK (length(login) BETWEEN 3 AND 16),
    CONSTRAINT check_gender CHECK (gender IN (0, 1)),
    CONSTRAINT check_state CHECK (state IN ('pending', 'synced'))
);
CREATE UNIQUE INDEX idx_players_login_norm ON players (login_norm);
CREATE INDEX idx_players_state_created ON players (state, created_at);

CREATE TABLE telegram_players (
    login_norm  TEXT    NOT NULL PRIMARY KEY REFERENCES players (login_norm) ON DELETE CASCADE,
    telegram_id INTEGER NOT NULL,
    slot        INTEGER NOT NULL,
    username    TEXT,
    created_at  INTEGER NOT NULL,
    CONSTRAINT check_slot CHECK (slot >= 0)
);
-- Also serves every lookup by telegram_id (it is the index's prefix).
CREATE UNIQUE INDEX idx_telegram_id_slot ON telegram_players (telegram_id, slot);
CREATE INDEX idx_telegram_created ON telegram_players (created_at);

CREATE TABLE constants (
    name  TEXT NOT NULL PRIMARY KEY,
    value REAL NOT NULL
);
INSERT INTO constants (name, value) VALUES
    ('server_status', 1), ('client_status', 256),
    ('rate_exp', 1), ('rate_pvp', 1), ('rate_pve', 1);
