//! The reasons a player is flagged, with their evidence, their sentence and
//! their JSON shape.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// Why a player is flagged; serialised as
/// `{"kind": "improbable_wins" | "damage_outlier", …the variant's fields, "sentence": "…"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Won far more PvP battles than the ratings before each predicted.
    ImprobableWins {
        /// PvP battles in the most surprising run of consecutive PvP battles.
        battles: u32,
        /// Battles of that run the player's team won.
        wins: u32,
        /// Wins the ratings before each battle predicted for that run (Σ p).
        expected: f64,
        /// (wins − expected − ½) / √Σ p(1 − p), in standard deviations (with
        /// continuity correction).
        z: f64,
        /// One-sided normal tail of `z`, times the player's PvP battles (the
        /// run's possible starts) and the players tested (Bonferroni), at most
        /// 1; flagged at [`Evidence::alpha`](super::Evidence::alpha) and below. The normal
        /// approximation is only used where it holds: at least
        /// [`Evidence::min_expected`](super::Evidence::min_expected) expected wins and expected losses.
        p_value: f64,
        /// The run's most surprising wins (lowest p first), at most
        /// [`MAX_EVIDENCE_IDS`](super::MAX_EVIDENCE_IDS).
        battle_ids: Vec<i64>,
    },
    /// Deals damage far outside the distribution of their level.
    DamageOutlier {
        /// The player's level in their latest battle.
        level: u16,
        /// Battles whose damage was scored against their level bucket.
        battles: u32,
        /// Recent damage dealt over the median of the player's (mode, level bucket),
        /// as a factor (the exponentially weighted geometric mean; 3.0 = three times).
        ratio_to_median: f64,
        /// Recent robust z of damage (EWMA, weight 0.1 per battle) in standard
        /// deviations; flagged at [`DAMAGE_Z`](super::DAMAGE_Z) and above.
        z: f64,
        /// One-sided normal tail of the weighted mean (Σwz/√Σw², standard
        /// normal for an honest player of median skill), times the players
        /// tested, at most 1.
        p_value: f64,
        /// The battles with the highest damage z (highest first), at most
        /// [`MAX_EVIDENCE_IDS`](super::MAX_EVIDENCE_IDS).
        battle_ids: Vec<i64>,
    },
}

/// A count the ratings expected, for a sentence: one decimal, and "< 0.1"
/// rather than a misleading "0.0".
pub fn format_expected(x: f64) -> String {
    if x < 0.05 {
        "< 0.1".to_owned()
    } else {
        format!("{x:.1}")
    }
}

/// A p-value for a sentence: two significant digits, "< 1e-300" below that.
pub fn format_p(p: f64) -> String {
    if p < 1e-300 {
        "< 1e-300".to_owned()
    } else if p >= 0.001 {
        format!("{p:.3}")
    } else {
        format!("{p:.1e}")
    }
}

impl Reason {
    /// The reason's stable tag: `"improbable_wins"` or `"damage_outlier"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::ImprobableWins { .. } => "improbable_wins",
            Reason::DamageOutlier { .. } => "damage_outlier",
        }
    }

    /// The reason's z, in standard deviations.
    pub fn z(&self) -> f64 {
        match self {
            Reason::ImprobableWins { z, .. } | Reason::DamageOutlier { z, .. } => *z,
        }
    }

    /// The reason's corrected p-value.
    pub fn p_value(&self) -> f64 {
        match self {
            Reason::ImprobableWins { p_value, .. } | Reason::DamageOutlier { p_value, .. } => {
                *p_value
            }
        }
    }

    /// The evidence battles' ids.
    pub fn battle_ids(&self) -> &[i64] {
        match self {
            Reason::ImprobableWins { battle_ids, .. }
            | Reason::DamageOutlier { battle_ids, .. } => battle_ids,
        }
    }

    /// The battles behind the reason.
    pub fn battles(&self) -> u32 {
        match self {
            Reason::ImprobableWins { battles, .. } | Reason::DamageOutlier { battles, .. } => {
                *battles
            }
        }
    }

    /// One sentence an operator can read, ending with the evidence battles'
    /// ids.
    pub fn sentence(&self) -> String {
        let ids: Vec<String> = self.battle_ids().iter().map(i64::to_string).collect();
        let evidence = match self {
            Reason::ImprobableWins { .. } => "most surprising wins: battles",
            Reason::DamageOutlier { .. } => "highest damage: battles",
        };
        format!("{}; {evidence} {}", self.claim(), ids.join(", "))
    }

    /// The sentence without its battle ids.
    fn claim(&self) -> String {
        match self {
            Reason::ImprobableWins {
                battles,
                wins,
                expected,
                z,
                p_value,
                ..
            } => format!(
                "won {wins} of {battles} PvP battles in a row where the ratings before each \
                 battle expected {} wins (z = {z:.1}, corrected p = {})",
                format_expected(*expected),
                format_p(*p_value)
            ),
            Reason::DamageOutlier {
                level,
                battles,
                ratio_to_median,
                z,
                p_value,
                ..
            } => format!(
                "recently deals {ratio_to_median:.1}× the median damage of level {level} players \
                 (robust z = {z:.1} over {battles} scored battles, corrected p = {})",
                format_p(*p_value)
            ),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sentence())
    }
}

/// `{"kind": "improbable_wins", …fields, "sentence": "…"}`.
impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s;
        match self {
            Reason::ImprobableWins {
                battles,
                wins,
                expected,
                z,
                ..
            } => {
                s = serializer.serialize_struct("Reason", 9)?;
                s.serialize_field("kind", self.kind())?;
                s.serialize_field("battles", battles)?;
                s.serialize_field("wins", wins)?;
                s.serialize_field("expected", expected)?;
                s.serialize_field("z", z)?;
            }
            Reason::DamageOutlier {
                level,
                battles,
                ratio_to_median,
                z,
                ..
            } => {
                s = serializer.serialize_struct("Reason", 9)?;
                s.serialize_field("kind", self.kind())?;
                s.serialize_field("level", level)?;
                s.serialize_field("battles", battles)?;
                s.serialize_field("ratio_to_median", ratio_to_median)?;
                s.serialize_field("z", z)?;
            }
        }
        s.serialize_field("p_value", &self.p_value())?;
        s.serialize_field("battle_ids", self.battle_ids())?;
        s.serialize_field("sentence", &self.sentence())?;
        s.end()
    }
}
