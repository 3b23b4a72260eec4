-- The ban jail (API.md §4): one row per banned client address, shared by every
-- gamegate process on this database and restored at start. `ip` is the
-- canonical text form (IPv4-mapped IPv6 written as IPv4, IPv6 compressed
-- lower-case), so one address has exactly one row.
CREATE TABLE bans (
    ip           VARCHAR(45)  NOT NULL PRIMARY KEY,
    banned_until BIGINT       NOT NULL,
    reason       VARCHAR(200) NOT NULL,
    created_at   BIGINT       NOT NULL,
    CONSTRAINT check_ip_length CHECK (char_length(ip) BETWEEN 2 AND 45)
);
-- Active bans are read, and expired ones purged, by banned_until.
CREATE INDEX idx_bans_banned_until ON bans (banned_until);
