//! The connection budgets of a process, from its descriptor limit.

use std::sync::Arc;

use crate::app::metrics::Metrics;
use crate::config::Config;
use crate::http::server::Gate;

/// The connection budgets: the descriptor soft limit raised to the hard one,
/// and the caps computed so the reserve stays free.
pub(super) struct Budget {
    pub public: Arc<Gate>,
    pub admin: Arc<Gate>,
    pub trusted: Arc<Vec<ipnet::IpNet>>,
    /// In words, for the banner.
    pub words: String,
}

impl Budget {
    pub fn compute(config: &Config, metrics: &Arc<Metrics>) -> anyhow::Result<Self> {
        let descriptors = crate::descriptors::raise_limit();
        let reserved = config.descriptors_reserved();
        let budget = crate::descriptors::budget(
            descriptors.soft,
            reserved,
            config.http.max_connections,
            config.http.admin_max_connections,
            config.http.max_connections_per_ip,
        );
        tracing::info!(
            descriptors = descriptors.soft,
            raised_from = descriptors.raised_from,
            reserved,
            public_max_connections = budget.public,
            admin_max_connections = budget.admin,
            max_connections_per_ip = budget.per_ip,
            "connection budget"
        );
        if config.http.max_connections > budget.public {
            tracing::warn!(
                configured = config.http.max_connections,
                allowed = budget.public,
                "http.max_connections lowered to what the descriptor limit allows"
            );
        }
        let trusted = Arc::new(config.edge.trusted_proxies.clone());
        let gate = |max| {
            Arc::new(
                Gate::new(max, budget.per_ip, trusted.clone(), metrics.clone())
                    .with_ipv6_prefix(config.edge.ipv6_prefix),
            )
        };
        Ok(Self {
            public: gate(budget.public),
            admin: gate(budget.admin),
            words: format!(
                "{} public ({} per address), {} admin; {} descriptors, {} reserved",
                budget.public, budget.per_ip, budget.admin, descriptors.soft, reserved
            ),
            trusted,
        })
    }
}
