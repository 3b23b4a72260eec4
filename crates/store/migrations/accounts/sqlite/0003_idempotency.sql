-- Idempotency keys of POST /api/register (docs/API.md#idempotency-key): one
-- row per (site, key), claimed by the INSERT that makes the row, so parallel
-- requests with one key run the registration once. `scope` is the SHA-256 of
-- the site's API key, `fingerprint` an HMAC of the request keyed with it
-- (neither key nor password is stored). Rows older than
-- registration.idempotency_window_secs are purged.
CREATE TABLE idempotency_keys (
    scope        TEXT    NOT NULL,
    idem_key     TEXT    NOT NULL,
    fingerprint  TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    login_norm   TEXT    NOT NULL,
    telegram_id  INTEGER NOT NULL,
    status       INTEGER NULL,
    body         TEXT    NULL,
    created_at   INTEGER NOT NULL,
    locked_until INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key),
    CONSTRAINT check_idem_key_length CHECK (length(idem_key) BETWEEN 1 AND 255),
    CONSTRAINT check_idem_state CHECK (state IN ('running', 'pending', 'done'))
);
-- Expired rows are purged by created_at.
CREATE INDEX idx_idempotency_created ON idempotency_keys (created_at);
