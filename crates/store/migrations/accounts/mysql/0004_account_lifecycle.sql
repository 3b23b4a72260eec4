-- Account lifecycle (docs/DESIGN.md, "Deleting an account" and "Changing a
-- password"): an operation under way on a synced account, and the audit of
-- every deletion, password change and Telegram move.
-- `operation` is NULL (none), 'deleting' (marked before the game server's
-- delete) or 'password' (marked before the game server's set_password);
-- `operation_at` is when it was marked (Unix seconds), for the reconciler.
ALTER TABLE players
    ADD COLUMN operation VARCHAR(16) NULL,
    ADD COLUMN operation_at BIGINT NULL,
    ADD CONSTRAINT check_operation CHECK (operation IN ('deleting', 'password')),
    ADD KEY idx_players_operation (operation, operation_at);

-- Who did what to which account, when. Never a password, hash or key;
-- `login` and `login_norm` become NULL when the account is erased, and the
-- deletion's row then keeps at most `telegram_hash` (accounts.erasure_keep).
CREATE TABLE account_audit (
    id            BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at            BIGINT      NOT NULL,
    actor         VARCHAR(64) NOT NULL,
    action        VARCHAR(32) NOT NULL,
    outcome       VARCHAR(32) NOT NULL,
    login         VARCHAR(16) NULL,
    login_norm    VARCHAR(64) NULL,
    telegram_hash VARCHAR(64) NULL,
    CONSTRAINT check_actor_length CHECK (CHAR_LENGTH(actor) BETWEEN 1 AND 64),
    KEY idx_account_audit_login (login_norm, at),
    KEY idx_account_audit_at (at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
