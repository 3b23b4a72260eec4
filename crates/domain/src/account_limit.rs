//! The per-Telegram account limit of `POST /api/register`.

/// How many game accounts one Telegram id may own. Enforced by the database
/// through slot numbers `0..limit` under a UNIQUE(telegram_id, slot) index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLimit(u32);

impl AccountLimit {
    /// 5 accounts per Telegram id: the contract's limit.
    pub const DEFAULT: AccountLimit = AccountLimit(5);
    /// A bound that keeps the slot search cheap and the column a SMALLINT.
    pub const MAX: u32 = 1000;

    /// A limit of `limit` accounts. Errs (with a message for the operator) unless
    /// `1 <= limit <= MAX`.
    pub fn new(limit: u32) -> Result<Self, String> {
        if (1..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(format!(
                "account limit must be between 1 and {}, got {limit}",
                Self::MAX
            ))
        }
    }

    /// The limit as a number of accounts.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The first slot not in `used`, or `None` when the limit is reached.
    pub fn first_free_slot(self, used: &[i64]) -> Option<i64> {
        (0..i64::from(self.0)).find(|slot| !used.contains(slot))
    }
}

impl Default for AccountLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Read as a number, checked by [`AccountLimit::new`] (its message).
impl<'de> serde::Deserialize<'de> for AccountLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let limit = <u32 as serde::Deserialize>::deserialize(d)?;
        AccountLimit::new(limit).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for AccountLimit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}
