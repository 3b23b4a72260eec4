//! `[game_server.tls]`: TLS on the v1 link to the game server
//! (docs/GAME_SERVER.md, "TLS on the link").
//!
//! The shape is checked at load ([`GameServerTlsConfig::validate`]); the
//! files are read when the connector is built ([`GameServerTlsConfig::link`]),
//! so an unreadable CA file fails the start of `all` / `serve register` and
//! shows in `doctor`, naming the setting.

use anyhow::{Context, bail};
use gamegate_gameserver::{ClientIdentity, Fingerprint, LinkTls};
use serde::{Deserialize, Serialize};

/// `[game_server.tls]`. Paths and the pin are plain strings, empty when
/// unset (every key then has a default and is known to the loader).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameServerTlsConfig {
    /// Connect to the game server over TLS (default off: plain TCP).
    pub enabled: bool,
    /// PEM file of the CA (or CAs) that signed the game server's
    /// certificate. Exactly one of this and `fingerprint_sha256`.
    pub ca_file: String,
    /// SHA-256 of the game server's end-entity certificate (DER), 64 hex
    /// digits with or without colons. Exactly one of this and `ca_file`.
    pub fingerprint_sha256: String,
    /// The name checked against the certificate with `ca_file`, and sent as
    /// SNI; empty: the host of `game_server.addr`.
    pub server_name: String,
    /// PEM certificate (chain) gamegate presents (mutual TLS); with
    /// `client_key`.
    pub client_cert: String,
    /// PEM private key of `client_cert`.
    pub client_key: String,
}

impl GameServerTlsConfig {
    /// Checks the shape: with TLS on, exactly one of `ca_file` and
    /// `fingerprint_sha256`, a well-formed pin, `client_cert` and
    /// `client_key` together; with TLS off, none of them set (a CA file
    /// that is silently unused would look like an encrypted link).
    pub fn validate(&self) -> anyhow::Result<()> {
        let set = |v: &str| !v.trim().is_empty();
        if !self.enabled {
            let stray: Vec<&str> = [
                ("ca_file", &self.ca_file),
                ("fingerprint_sha256", &self.fingerprint_sha256),
                ("server_name", &self.server_name),
                ("client_cert", &self.client_cert),
                ("client_key", &self.client_key),
            ]
            .into_iter()
            .filter(|(_, v)| set(v))
            .map(|(k, _)| k)
            .collect();
            if !stray.is_empty() {
                bail!(
                    "game_server.tls.{} is set but game_server.tls.enabled is false: set \
                     enabled = true to connect over TLS, or remove it",
                    stray.join(", game_server.tls.")
                );
            }
            return Ok(());
        }
        match (set(&self.ca_file), set(&self.fingerprint_sha256)) {
            (true, true) => bail!(
                "game_server.tls: set either ca_file (the CA that signed the game server's \
                 certificate) or fingerprint_sha256 (its pinned certificate), not both"
            ),
            (false, false) => bail!(
                "game_server.tls.enabled needs ca_file (the PEM of the CA that signed the game \
                 server's certificate) or fingerprint_sha256 (the SHA-256 of that certificate, \
                 `openssl x509 -in cert.pem -noout -fingerprint -sha256`)"
            ),
            _ => {}
        }
        self.pin()?;
        if set(&self.client_cert) != set(&self.client_key) {
            bail!(
                "game_server.tls.client_cert and game_server.tls.client_key must be set together"
            );
        }
        Ok(())
    }

    /// The pinned fingerprint, when set.
    fn pin(&self) -> anyhow::Result<Option<Fingerprint>> {
        match self.fingerprint_sha256.trim() {
            "" => Ok(None),
            pin => pin
                .parse()
                .map(Some)
                .map_err(|e| anyhow::anyhow!("game_server.tls.fingerprint_sha256: {e}")),
        }
    }

    /// The client's TLS for a game server at `addr` (`host:port`), reading
    /// the files; `None` with TLS off.
    ///
    /// # Errors
    /// A file that cannot be read or holds no certificate/key, a server name
    /// that is neither a DNS name nor an IP address; the message names the
    /// setting.
    pub fn link(&self, addr: &str) -> anyhow::Result<Option<LinkTls>> {
        if !self.enabled {
            return Ok(None);
        }
        let name = match self.server_name.trim() {
            "" => host_of(addr).to_owned(),
            name => name.to_owned(),
        };
        let read = |key: &str, path: &str| {
            std::fs::read(path).with_context(|| format!("cannot read game_server.tls.{key} {path}"))
        };
        let identity = match self.client_cert.trim() {
            "" => None,
            cert => Some(
                ClientIdentity::from_pem(
                    &read("client_cert", cert)?,
                    &read("client_key", &self.client_key)?,
                )
                .with_context(|| {
                    format!(
                        "game_server.tls.client_cert {cert} with client_key {}",
                        self.client_key
                    )
                })?,
            ),
        };
        let link = match self.pin()? {
            Some(pin) => LinkTls::pinned(pin, &name, identity)
                .with_context(|| format!("game_server.tls.server_name {name:?}"))?,
            None => {
                let ca = read("ca_file", &self.ca_file)?;
                LinkTls::with_ca(&ca, &name, identity).with_context(|| {
                    format!(
                        "game_server.tls.ca_file {} (server name {name:?})",
                        self.ca_file
                    )
                })?
            }
        };
        Ok(Some(link))
    }
}

/// `host` of `host:port` (`[v6]:port` gives `v6`).
fn host_of(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> GameServerTlsConfig {
        GameServerTlsConfig {
            enabled: true,
            fingerprint_sha256: "ab".repeat(32),
            ..Default::default()
        }
    }

    #[test]
    fn the_shape_is_checked_with_messages_that_name_the_keys() {
        GameServerTlsConfig::default().validate().unwrap();
        on().validate().unwrap();
        let cases = [
            (
                GameServerTlsConfig {
                    ca_file: "/ca.pem".into(),
                    ..on()
                },
                "not both",
            ),
            (
                GameServerTlsConfig {
                    fingerprint_sha256: String::new(),
                    ..on()
                },
                "needs ca_file",
            ),
            (
                GameServerTlsConfig {
                    fingerprint_sha256: "12:34".into(),
                    ..on()
                },
                "fingerprint_sha256: a SHA-256 fingerprint is 64 hex digits",
            ),
            (
                GameServerTlsConfig {
                    client_cert: "/c.pem".into(),
                    ..on()
                },
                "set together",
            ),
            (
                GameServerTlsConfig {
                    ca_file: "/ca.pem".into(),
                    ..Default::default()
                },
                "game_server.tls.ca_file is set but game_server.tls.enabled is false",
            ),
        ];
        for (config, needle) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn the_server_name_defaults_to_the_host_of_the_address() {
        assert_eq!(host_of("game.internal:5190"), "game.internal");
        assert_eq!(host_of("10.0.0.7:5190"), "10.0.0.7");
        assert_eq!(host_of("[::1]:5190"), "::1");
        let link = on().link("game.internal:5190").unwrap().unwrap();
        assert_eq!(
            format!("{:?}", link.server_name()),
            format!(
                "{:?}",
                rustls_pki_types::ServerName::try_from("game.internal").unwrap()
            )
        );
        assert!(
            GameServerTlsConfig::default()
                .link("x:1")
                .unwrap()
                .is_none()
        );
        let err = GameServerTlsConfig {
            fingerprint_sha256: String::new(),
            ca_file: "/nonexistent/ca.pem".into(),
            ..on()
        }
        .link("x:1")
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("cannot read game_server.tls.ca_file /nonexistent/ca.pem"),
            "{err:#}"
        );
    }
}
