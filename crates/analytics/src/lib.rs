//! Battle-log analytics with no I/O: the battle model the statistics service
//! ingests, skill ratings over it, win prediction, anomaly detection and a
//! synthetic battle generator. Storage and HTTP live in `gamegate-store` and
//! `gamegate`; everything here is plain data and pure functions.

pub mod battle;
pub mod ratings;

pub use battle::{Battle, BattleError, Mode, Participant};
pub use ratings::{Rating, RatingBook};
