//! The HTTP layer: thin handlers that parse, call the domain and the
//! registration saga, and map every failure to one JSON error shape.

mod admin;
mod error;
mod extract;
pub(crate) mod middleware;
mod public;

use std::sync::Arc;

use gamegate_domain::{Lang, RegistrationRules};

pub use admin::{AdminState, admin_router};
pub use error::ApiError;
pub use public::{PublicState, public_router};

use crate::metrics::Metrics;

/// What every handler may need to build an answer.
#[derive(Clone)]
pub struct Common {
    pub lang: Lang,
    pub metrics: Arc<Metrics>,
    pub rules: Arc<RegistrationRules>,
    pub body_limit: usize,
    pub request_timeout: std::time::Duration,
}
