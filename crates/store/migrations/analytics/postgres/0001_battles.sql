-- Battle logs and per-player statistics (PostgreSQL).
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
    CONSTRAINT check_duration CHECK (duration_secs >= 0)
);
-- Rebuilds replay battles in (started_at, id) order; summaries scan by day.
CREATE INDEX idx_battles_started ON battles (started_at, id);
CREATE INDEX idx_battles_day ON battles (day);

CREATE TABLE battle_participants (
    battle_id    BIGINT      NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    login        VARCHAR(16) NOT NULL,
    team         BIGINT      NOT NULL,
    won          BIGINT      NOT NULL,
    kills        BIGINT      NOT NULL,
    deaths       BIGINT      NOT NULL,
    damage_dealt BIGINT      NOT NULL,
    damage_taken BIGINT      NOT NULL,
    level        BIGINT      NOT NULL,
    PRIMARY KEY (battle_id, login),
    CONSTRAINT check_won CHECK (won IN (0, 1))
);
CREATE INDEX idx_participants_login ON battle_participants (login);

-- One row per player seen: the rating (Weng-Lin, PvP only) and running
-- totals, kept up to date on ingestion and recomputed by `ratings rebuild`.
-- `score` = mu - 3 sigma, the leaderboard order.
CREATE TABLE player_ratings (
    login        VARCHAR(16)      NOT NULL PRIMARY KEY,
    mu           DOUBLE PRECISION NOT NULL,
    sigma        DOUBLE PRECISION NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    battles      BIGINT           NOT NULL,
    wins         BIGINT           NOT NULL,
    pvp_battles  BIGINT           NOT NULL,
    pvp_wins     BIGINT           NOT NULL,
    kills        BIGINT           NOT NULL,
    deaths       BIGINT           NOT NULL,
    damage_dealt BIGINT           NOT NULL,
    damage_taken BIGINT           NOT NULL,
    updated_at   BIGINT           NOT NULL
);
CREATE INDEX idx_player_ratings_score ON player_ratings (score DESC, login);
