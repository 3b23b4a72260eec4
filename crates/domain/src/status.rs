//! `GET /api/server/status`: the answer built from the `constants` table.

use std::collections::BTreeMap;

use serde::Serialize;

/// `GET /api/server/status` (API.md §6): the game's constants. `server_status`,
/// `rates` and `client_status` keep the seed's names and types; `updated_at` is an addition.
// With the `openapi` feature this type is the answer's schema in the
// service's OpenAPI document: its doc comments are the descriptions there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerStatus {
    /// Constant `server_status` (0 when the row is missing).
    pub server_status: f64,
    /// Every constant `rate_<name>` as `<name>` (the migration seeds `exp`,
    /// `pve` and `pvp`).
    #[cfg_attr(
        feature = "openapi",
        schema(example = json!({"exp": 1.0, "pve": 1.0, "pvp": 1.0}))
    )]
    pub rates: BTreeMap<String, f64>,
    /// Constant `client_status` (0 when the row is missing).
    pub client_status: f64,
    /// Unix seconds of the moment the constants were read from the database.
    pub updated_at: i64,
}

impl ServerStatus {
    /// `rate_`: the name prefix of the constants that become `rates`.
    pub const RATE_PREFIX: &'static str = "rate_";

    /// Builds the answer from `(name, value)` rows: every `rate_<name>` row
    /// becomes `rates.<name>`; a missing status constant reads as 0.
    pub fn from_constants<'a>(
        rows: impl IntoIterator<Item = (&'a str, f64)>,
        updated_at: i64,
    ) -> Self {
        let mut status = ServerStatus {
            server_status: 0.0,
            rates: BTreeMap::new(),
            client_status: 0.0,
            updated_at,
        };
        for (name, value) in rows {
            match name {
                "server_status" => status.server_status = value,
                "client_status" => status.client_status = value,
                _ => {
                    if let Some(rate) = name
                        .strip_prefix(Self::RATE_PREFIX)
                        .filter(|r| !r.is_empty())
                    {
                        status.rates.insert(rate.to_owned(), value);
                    }
                }
            }
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_collected_and_others_ignored() {
        let s = ServerStatus::from_constants(
            [
                ("server_status", 1.0),
                ("client_status", 256.0),
                ("rate_exp", 2.0),
                ("rate_", 9.0),
                ("motd", 3.0),
            ],
            7,
        );
        assert_eq!(s.server_status, 1.0);
        assert_eq!(s.client_status, 256.0);
        assert_eq!(s.rates.len(), 1);
        assert_eq!(s.rates["exp"], 2.0);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["rates"]["exp"], 2.0);
        assert_eq!(json["client_status"], 256.0);
    }
}
