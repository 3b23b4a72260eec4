-- Battle logs and per-player statistics (MySQL 8 / MariaDB 10.11).
-- `battles.id` is the game server's id: ingestion is idempotent by it.
-- `day` (started_at / 86400, UTC) is stored so per-day summaries group by a
-- plain column on every backend.
CREATE TABLE battles (
    id            BIGINT      NOT NULL PRIMARY KEY,
    mode          VARCHAR(3)  NOT NULL,
    started_at    BIGINT      NOT NULL,
    day           BIGINT      NOT NULL,
    duration_secs BIGINT      NOT NULL,
    ingested_at   BIGINT      NOT NULL,
    CONSTRAINT check_mode CHECK (mode IN ('pvp', 'pve')),
    CONSTRAINT check_duration CHECK (duration_secs >= 0),
    KEY idx_battles_started (started_at, id),
    KEY idx_battles_day (day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

CREATE TABLE battle_participants (
    battle_id    BIGINT      NOT NULL,
    login        VARCHAR(16) NOT NULL,
    team         BIGINT      NOT NULL,
    won          BIGINT      NOT NULL,
    kills        BIGINT      NOT NULL,
    deaths       BIGINT      NOT NULL,
    damage_dealt BIGINT      NOT NULL,
    damage_taken BIGINT      NOT NULL,
    level        BIGINT      NOT NULL,
    PRIMARY KEY (battle_id, login),
    CONSTRAINT check_won CHECK (won IN (0, 1)),
    KEY idx_participants_login (login),
    CONSTRAINT fk_participants_battle FOREIGN KEY (battle_id)
        REFERENCES battles (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- One row per player seen: the rating (Weng-Lin, PvP only) and running
-- totals, kept up to date on ingestion and recomputed by `ratings rebuild`.
-- `score` = mu - 3 sigma, the leaderboard order.
CREATE TABLE player_ratings (
    login        VARCHAR(16) NOT NULL PRIMARY KEY,
    mu           DOUBLE      NOT NULL,
    sigma        DOUBLE      NOT NULL,
    score        DOUBLE      NOT NULL,
    battles      BIGINT      NOT NULL,
    wins         BIGINT      NOT NULL,
    pvp_battles  BIGINT      NOT NULL,
    pvp_wins     BIGINT      NOT NULL,
    kills        BIGINT      NOT NULL,
    deaths       BIGINT      NOT NULL,
    damage_dealt BIGINT      NOT NULL,
    damage_taken BIGINT      NOT NULL,
    updated_at   BIGINT      NOT NULL,
    KEY idx_player_ratings_score (score DESC, login)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
