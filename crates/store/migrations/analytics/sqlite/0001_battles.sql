-- Battle logs and per-player statistics (SQLite).
-- `battles.id` is the game server's id: ingestion is idempotent by it.
-- `day` (started_at / 86400, UTC) is stored so per-day summaries group by a
-- plain column on every backend.
CREATE TABLE battles (
    id            INTEGER PRIMARY KEY,
    mode          TEXT    NOT NULL,
    started_at    INTEGER NOT NULL,
    day           INTEGER NOT NULL,
    duration_secs INTEGER NOT NULL,
    ingested_at   INTEGER NOT NULL,
    CONSTRAINT check_mode CHECK (mode IN ('pvp', 'pve')),
    CONSTRAINT check_duration CHECK (duration_secs >= 0)
);
-- Rebuilds replay battles in (started_at, id) order; summaries scan by day.
CREATE INDEX idx_battles_started ON battles (started_at, id);
CREATE INDEX idx_battles_day ON battles (day);

CREATE TABLE battle_participants (
    battle_id    INTEGER NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
    login        TEXT    NOT NULL,
    team         INTEGER NOT NULL,
    won          INTEGER NOT NULL,
    kills        INTEGER NOT NULL,
    deaths       INTEGER NOT NULL,
    damage_dealt INTEGER NOT NULL,
    damage_taken INTEGER NOT NULL,
    level        INTEGER NOT NULL,
    PRIMARY KEY (battle_id, login),
    CONSTRAINT check_won CHECK (won IN (0, 1))
);
CREATE INDEX idx_participants_login ON battle_participants (login);

-- One row per player seen: the rating (Weng-Lin, PvP only) and running
-- totals, kept up to date on ingestion and recomputed by `ratings rebuild`.
-- `score` = mu - 3 sigma, the leaderboard order.
CREATE TABLE player_ratings (
    login        TEXT    NOT NULL PRIMARY KEY,
    mu           REAL    NOT NULL,
    sigma        REAL    NOT NULL,
    score        REAL    NOT NULL,
    battles      INTEGER NOT NULL,
    wins         INTEGER NOT NULL,
    pvp_battles  INTEGER NOT NULL,
    pvp_wins     INTEGER NOT NULL,
    kills        INTEGER NOT NULL,
    deaths       INTEGER NOT NULL,
    damage_dealt INTEGER NOT NULL,
    damage_taken INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX idx_player_ratings_score ON player_ratings (score DESC, login);
