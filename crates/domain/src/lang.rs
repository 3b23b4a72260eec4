//! The language of human-readable messages (`message` in answers, docs/ERRORS.md).

use std::fmt;
use std::str::FromStr;

/// Language of the human-readable `message` in answers. The machine code
/// (`detail`) never depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Russian, the default (`language = "ru"`).
    #[default]
    Ru,
    /// English (`language = "en"`).
    En,
}

impl Lang {
    /// The configuration spelling: `"ru"` or `"en"` (also the `Display` form).
    pub const fn as_str(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    /// Picks the text for this language; keeps call sites short and makes a
    /// missing translation a compile error rather than an empty string.
    pub const fn pick(self, ru: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

impl FromStr for Lang {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ru" => Ok(Lang::Ru),
            "en" => Ok(Lang::En),
            other => Err(format!(
                "unknown language {other:?}: expected \"ru\" or \"en\""
            )),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Read as its word (`"ru"`, `"en"`, any case), with [`Lang::from_str`]'s message.
impl<'de> serde::Deserialize<'de> for Lang {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = <String as serde::Deserialize>::deserialize(d)?;
        word.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Lang {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
