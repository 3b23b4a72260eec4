-- Accounts, Telegram links and constants (PostgreSQL).
CREATE TABLE players (
    id              BIGSERIAL    PRIMARY KEY,
    login           VARCHAR(16)  NOT NULL,
    login_norm      VARCHAR(64)  NOT NULL,
    password_hash   VARCHAR(255) NOT NULL,
    gender          SMALLINT     NOT NULL,
    state           VARCHAR(16)  NOT NULL DEFAULT 'pending',
    game_account_id BIGINT,
    created_at      BIGINT       NOT NULL,
    updated_at      BIGINT       NOT NULL,
    CONSTRAINT check_login_length CHECK (char_length(login) BETWEEN 3 AND 16),
    CONSTRAINT check_gender CHECK (gender IN (0, 1)),
    CONSTRAINT check_state CHECK (state IN ('pending', 'synced'))
);
CREATE UNIQUE INDEX idx_players_login_norm ON players (login_norm);
CREATE INDEX idx_players_state_created ON players (state, created_at);

CREATE TABLE telegram_players (
    login_norm  VARCHAR(64) NOT NULL PRIMARY KEY REFERENCES players (login_norm) ON DELETE CASCADE,
    telegram_id BIGINT      NOT NULL,
    slot        SMALLINT    NOT NULL,
    username    VARCHAR(64),
    created_at  BIGINT      NOT NULL,
    CONSTRAINT check_slot CHECK (slot >= 0)
);
CREATE UNIQUE INDEX idx_telegram_id_slot ON telegram_players (telegram_id, slot);
CREATE INDEX idx_telegram_created ON telegram_players (created_at);

CREATE TABLE constants (
    name  VARCHAR(64)      NOT NULL PRIMARY KEY,
    value DOUBLE PRECISION NOT NULL
);
INSERT INTO constants (name, value) VALUES
    ('server_status', 1), ('client_status', 256),
    ('rate_exp', 1), ('rate_pvp', 1), ('rate_pve', 1);
