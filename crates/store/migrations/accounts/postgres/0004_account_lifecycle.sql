-- Account lifecycle (docs/DESIGN.md, "Deleting an account" and "Changing a
-- password"): an operation under way on a synced account, and the audit of
-- every deletion, password change and Telegram move.
-- `operation` is NULL (none), 'deleting' (marked before the game server's
-- delete) or 'password' (marked before the game server's set_password);
-- `operation_at` is when it was marked (Unix seconds), for the reconciler.
ALTER TABLE players
    ADD COLUMN operation VARCHAR(16),
    ADD COLUMN operation_at BIGINT,
    ADD CONSTRAINT check_operation CHECK (operation IN ('deleting', 'password'));
CREATE INDEX idx_players_operation ON players (operation, operation_at);

-- Who did what to which account, when. Never a password, hash or key;
-- `login` and `login_norm` become NULL when the account is erased, and the
-- deletion's row then keeps at most `telegram_hash` (accounts.erasure_keep).
CREATE TABLE account_audit (
    id            BIGSERIAL   PRIMARY KEY,
    at            BIGINT      NOT NULL,
    actor         VARCHAR(64) NOT NULL,
    action        VARCHAR(32) NOT NULL,
    outcome       VARCHAR(32) NOT NULL,
    login         VARCHAR(16),
    login_norm    VARCHAR(64),
    telegram_hash VARCHAR(64),
    CONSTRAINT check_actor_length CHECK (char_length(actor) BETWEEN 1 AND 64)
);
CREATE INDEX idx_account_audit_login ON account_audit (login_norm, at);
CREATE INDEX idx_account_audit_at ON account_audit (at);
