-- The case-insensitive key of each player's login (gamegate_domain::
-- normalise_login: NFC of the lowercased NFD), computed by gamegate, never by
-- the database: SQLite's lower() folds ASCII only. `/stats/players/{login}`
-- and `/ml/predict` look players up by it. Rows stored before this migration
-- hold ASCII logins only (the earlier rule), for which lower() is exact.
ALTER TABLE player_ratings ADD COLUMN login_key TEXT NOT NULL DEFAULT '';
UPDATE player_ratings SET login_key = lower(login);
CREATE INDEX idx_player_ratings_login_key ON player_ratings (login_key);
