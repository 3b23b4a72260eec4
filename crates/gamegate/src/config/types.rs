//! Value types of the configuration that parse at load, so later code never
//! re-parses strings: string enums with the messages operators know, networks,
//! ban error codes, and secrets (`secrecy`), each with its serde form.

use std::fmt;

use gamegate_domain::ErrorCode;
use ipnet::IpNet;
use secrecy::{ExposeSecret, SecretString};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A closed set of lowercase words as a serde enum whose error names the
/// key and the accepted words (`log.format must be "pretty" or "json", got "xml"`).
macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $key:literal, { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The word as written in the config.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!($key, " must be ", word_enum!(@list $($word),+), ", got {:?}"),
                        other
                    )),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(D::Error::custom)
            }
        }
    };
    (@list $a:literal, $b:literal) => { concat!("\"", $a, "\" or \"", $b, "\"") };
}

word_enum!(
    /// `registration.erasure_keep`: what a deleted account leaves behind.
    ErasureKeep, "registration.erasure_keep", {
        /// Nothing that names the player.
        Nothing => "nothing",
        /// An HMAC-SHA-256 of the Telegram id under `registration.erasure_key`
        /// on the deletion's audit row, so abuse by the same Telegram account
        /// can be recognised without keeping the id.
        TelegramHash => "telegram_hash",
    }
);

word_enum!(
    /// `log.format`: how the service log is written.
    LogFormat, "log.format", {
        /// Human-readable lines.
        Pretty => "pretty",
        /// One JSON object a line.
        Json => "json",
    }
);

word_enum!(
    /// `telegram.fail_policy`: what registration does when Telegram cannot answer.
    FailPolicy, "telegram.fail_policy", {
        /// Refuse with 503 `telegram_unavailable`.
        Closed => "closed",
        /// Let the registration through (logged).
        Open => "open",
    }
);

/// CIDRs or bare addresses (a bare address is a /32 or /128), as a list of
/// strings in the config and [`IpNet`]s in Rust. The error names `key`.
pub(crate) fn parse_nets(key: &str, list: &[String]) -> Result<Vec<IpNet>, String> {
    list.iter()
        .map(|s| {
            let s = s.trim();
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{key}: {s:?} is not a CIDR or an IP address"))
        })
        .collect()
}

/// CIDRs or bare addresses as networks, as the config reads them (for code
/// and tests that build a config by hand).
pub fn networks<S: AsRef<str>>(list: &[S]) -> Result<Vec<IpNet>, String> {
    let list: Vec<String> = list.iter().map(|s| s.as_ref().to_owned()).collect();
    parse_nets("networks", &list)
}

fn serialize_nets<S: Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(nets.iter().map(ToString::to_string))
}

/// serde of `edge.trusted_proxies`.
pub(crate) mod trusted_proxies {
    use super::*;

    pub fn serialize<S: Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
        serialize_nets(nets, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        parse_nets("edge.trusted_proxies", &Vec::<String>::deserialize(d)?)
            .map_err(D::Error::custom)
    }
}

/// serde of `edge.ban_ignore`.
pub(crate) mod ban_ignore {
    use super::*;

    pub fn serialize<S: Serializer>(nets: &[IpNet], s: S) -> Result<S::Ok, S::Error> {
        serialize_nets(nets, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
        parse_nets("edge.ban_ignore", &Vec::<String>::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// `edge.ban_on` as error codes. Only client errors may count: counting our
/// own failures (5xx) would ban every client during an outage, and `banned`
/// itself would keep a ban alive forever.
pub(crate) fn parse_ban_codes(list: &[String]) -> Result<Vec<ErrorCode>, String> {
    list.iter()
        .map(|name| {
            let code = ErrorCode::from_code(name.trim()).ok_or_else(|| {
                format!(
                    "edge.ban_on: {name:?} is not an error code; use codes from docs/API.md \
                     such as invalid_api_key, rate_limited, validation_error"
                )
            })?;
            if code == ErrorCode::Banned || !(400..500).contains(&code.http_status()) {
                return Err(format!(
                    "edge.ban_on: {name:?} cannot be counted; only client errors (4xx) \
                     other than banned are failures of the client"
                ));
            }
            Ok(code)
        })
        .collect()
}

/// serde of `edge.ban_on`.
pub(crate) mod ban_on {
    use super::*;

    pub fn serialize<S: Serializer>(codes: &[ErrorCode], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(codes.iter().map(|c| c.as_str()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ErrorCode>, D::Error> {
        parse_ban_codes(&Vec::<String>::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// serde of a secret: read as a string; written in clear (a config written
/// back to a file, as the operator commands' tests do, must keep it). Its
/// `Debug` is secrecy's `[REDACTED]`.
pub(crate) mod secret {
    use super::*;

    pub fn serialize<S: Serializer>(secret: &SecretString, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(secret.expose_secret())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretString, D::Error> {
        SecretString::deserialize(d)
    }
}

/// serde of a list of secrets, as [`secret`].
pub(crate) mod secrets {
    use super::*;

    pub fn serialize<S: Serializer>(secrets: &[SecretString], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(secrets.iter().map(|t| t.expose_secret()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
        Ok(Vec::<String>::deserialize(d)?
            .into_iter()
            .map(SecretString::from)
            .collect())
    }
}

/// serde of `registration.login_charset`: the charset text in the config,
/// the rules built from it in Rust.
pub(crate) mod login_charset {
    use gamegate_domain::RegistrationRules;

    use super::*;

    pub fn serialize<S: Serializer>(rules: &RegistrationRules, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(rules.login_charset())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RegistrationRules, D::Error> {
        RegistrationRules::with_login_charset(&String::deserialize(d)?)
            .map_err(|e| D::Error::custom(format!("registration.login_charset: {e}")))
    }
}

/// The values of a list of secrets, for the code that compares against them.
pub fn expose_all(secrets: &[SecretString]) -> Vec<String> {
    secrets
        .iter()
        .map(|s| s.expose_secret().to_owned())
        .collect()
}
