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
