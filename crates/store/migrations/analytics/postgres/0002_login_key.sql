-- The case-insensitive key of each player's login (gamegate_domain::
-- normalise_login: NFC of the lowercased NFD), computed by gamegate, never by
-- the database, so all backends agree. `/stats/players/{login}` and
-- `/ml/predict` look players up by it. Rows stored before this migration
-- hold ASCII logins only (the earlier rule), for which LOWER is exact.
-- 64 characters: lowercasing can lengthen a 16-character login.
ALTER TABLE player_ratings ADD COLUMN login_key VARCHAR(64) NOT NULL DEFAULT '';
UPDATE player_ratings SET login_key = LOWER(login);
CREATE INDEX idx_player_ratings_login_key ON player_ratings (login_key);
