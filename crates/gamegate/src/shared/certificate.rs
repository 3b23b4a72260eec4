//! Facts of an X.509 certificate (names, validity) and the judgement of
//! them for a domain: used by `doctor`, the TLS listener's expiry warning and
//! the certificate-expiry metric.

use time::OffsetDateTime;

/// A certificate expiring sooner than this fails: renewal is not working.
pub const CERT_MIN_DAYS_LEFT: i64 = 14;

/// What the checks of a certificate need from it: its names and validity.
#[derive(Debug)]
pub struct CertFacts {
    /// DNS names of the subjectAltName extension, else the subject's CN.
    pub names: Vec<String>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

/// Why a parseable certificate is not good enough.
#[derive(Debug)]
pub enum CertProblem {
    Name(String),
    Expiring(String),
    NotYetValid(String),
}

impl std::fmt::Display for CertProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertProblem::Name(s) | CertProblem::Expiring(s) | CertProblem::NotYetValid(s) => {
                f.write_str(s)
            }
        }
    }
}

impl CertFacts {
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
        let mut names: Vec<String> = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(format!("bad subjectAltName: {e}")),
        };
        if names.is_empty() {
            names = cert
                .subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
                .collect();
        }
        Ok(Self {
            names,
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
        })
    }

    /// Name first (a certificate for another name is wrong whatever its
    /// dates), then the dates.
    pub fn judge(&self, domain: &str, now: OffsetDateTime) -> Result<(), CertProblem> {
        if !self.names.iter().any(|n| name_matches(n, domain)) {
            return Err(CertProblem::Name(format!(
                "the certificate is for {}, not for {domain} (nginx.server_name)",
                if self.names.is_empty() {
                    "no name".to_owned()
                } else {
                    self.names.join(", ")
                }
            )));
        }
        if now < self.not_before {
            return Err(CertProblem::NotYetValid(format!(
                "not valid before {}",
                self.not_before
            )));
        }
        let left = self.not_after - now;
        if left.is_negative() {
            return Err(CertProblem::Expiring(format!(
                "expired on {} ({} days ago)",
                self.not_after.date(),
                -left.whole_days()
            )));
        }
        if left.whole_days() < CERT_MIN_DAYS_LEFT {
            return Err(CertProblem::Expiring(format!(
                "expires on {} (in {} days; renewal should keep it above {CERT_MIN_DAYS_LEFT})",
                self.not_after.date(),
                left.whole_days()
            )));
        }
        Ok(())
    }
}

/// RFC 6125: case-insensitive; a wildcard stands for exactly one left-most label.
fn name_matches(pattern: &str, domain: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    match pattern.strip_prefix("*.") {
        Some(parent) => domain
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => pattern == domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_matches("api.game.example", "API.game.example"));
        assert!(name_matches("*.game.example", "api.game.example"));
        assert!(!name_matches("*.game.example", "game.example"));
        assert!(!name_matches("*.game.example", "a.api.game.example"));
        assert!(!name_matches("api.game.example", "www.game.example"));
    }
}
