-- Idempotency keys of POST /api/register (docs/API.md#idempotency-key): one
-- row per (site, key), claimed by the INSERT that makes the row, so parallel
-- requests with one key run the registration once. `scope` is the SHA-256 of
-- the site's API key, `fingerprint` an HMAC of the request keyed with it
-- (neither key nor password is stored). Rows older than
-- registration.idempotency_window_secs are purged. utf8mb4_bin: keys are
-- compared exactly (case-sensitive).
CREATE TABLE idempotency_keys (
    scope        VARCHAR(64)   NOT NULL,
    idem_key     VARCHAR(255)  NOT NULL,
    fingerprint  VARCHAR(64)   NOT NULL,
    state        VARCHAR(16)   NOT NULL,
    login_norm   VARCHAR(64)   NOT NULL,
    telegram_id  BIGINT        NOT NULL,
    status       BIGINT        NULL,
    body         VARCHAR(4096) NULL,
    created_at   BIGINT        NOT NULL,
    locked_until BIGINT        NOT NULL,
    PRIMARY KEY (scope, idem_key),
    CONSTRAINT check_idem_key_length CHECK (CHAR_LENGTH(idem_key) BETWEEN 1 AND 255),
    CONSTRAINT check_idem_state CHECK (state IN ('running', 'pending', 'done')),
    -- Expired rows are purged by created_at.
    KEY idx_idempotency_created (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
