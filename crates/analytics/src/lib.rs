//! Battle-log analytics with no I/O: the battle model the statistics service
//! ingests, skill ratings over it, win prediction, anomaly detection and a
//! synthetic battle generator. Storage and HTTP live in `gamegate-store` and
//! `gamegate`; everything here is plain data and pure functions.

#![warn(missing_docs)]

pub mod anomalies;
pub mod battle;
pub mod evaluate;
pub mod predict;
pub mod ratings;
pub mod synth;

pub use anomalies::{Anomaly, Detector, Reason, analyse};
pub use battle::{Battle, BattleError, Mode, Participant};
pub use evaluate::{Evaluation, Metrics, evaluate};
pub use predict::win_probability;
pub use ratings::{Rating, RatingBook};
pub use synth::{SynthConfig, Truth, bayes_optimal};
