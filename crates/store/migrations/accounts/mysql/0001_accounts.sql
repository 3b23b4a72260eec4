-- Accounts, Telegram links and constants (MySQL 8 / MariaDB 10.11).
-- utf8mb4_bin: login_norm is already lower-cased, so comparisons must be exact.
CREATE TABLE players (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    login           VARCHAR(16)  NOT NULL,
    login_norm      VARCHAR(64)  NOT NULL,
    password_hash   VARCHAR(255) NOT NULL,
    gender          SMALLINT     NOT NULL,
    state           VARCHAR(16)  NOT NULL DEFAULT 'pending',
    game_account_id BIGINT       NULL,
    created_at      BIGINT       NOT NULL,
    updated_at      BIGINT       NOT NULL,
    CONSTRAINT check_login_length CHECK (CHAR_LENGTH(login) BETWEEN 3 AND 16),
    CONSTRAINT check_gender CHECK (gender IN (0, 1)),
    CONSTRAINT check_state CHECK (state IN ('pending', 'synced')),
    UNIQUE KEY idx_players_login_norm (login_norm),
    KEY idx_players_state_created (state, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE telegram_players (
    login_norm  VARCHAR(64) NOT NULL PRIMARY KEY,
    telegram_id BIGINT      NOT NULL,
    slot        SMALLINT    NOT NULL,
    username    VARCHAR(64) NULL,
    created_at  BIGINT      NOT NULL,
    CONSTRAINT check_slot CHECK (slot >= 0),
    UNIQUE KEY idx_telegram_id_slot (telegram_id, slot),
    KEY idx_telegram_created (created_at),
    CONSTRAINT fk_telegram_players_login FOREIGN KEY (login_norm)
        REFERENCES players (login_norm) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE constants (
    name  VARCHAR(64) NOT NULL PRIMARY KEY,
    value DOUBLE      NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO constants (name, value) VALUES
    ('server_status', 1), ('client_status', 256),
    ('rate_exp', 1), ('rate_pvp', 1), ('rate_pve', 1);
