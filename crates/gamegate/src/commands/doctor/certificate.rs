//! The TLS certificate and key files: readable, matching, for the right name, not expiring.

use super::*;

/// The certificate and key files the configuration names: gamegate's own
/// (`http.tls_cert_file`) when it terminates TLS, else nginx's.
pub(super) fn certificate_files(config: &Config) -> (PathBuf, PathBuf, &'static str) {
    if !config.http.tls_cert_file.is_empty() {
        return (
            config.http.tls_cert_file.clone().into(),
            config.http.tls_key_file.clone().into(),
            "http.tls_cert_file",
        );
    }
    let live = Path::new("/etc/letsencrypt/live").join(&config.nginx.server_name);
    let cert = match config.nginx.tls_certificate.as_str() {
        "" => live.join("fullchain.pem"),
        path => path.into(),
    };
    let key = match config.nginx.tls_certificate_key.as_str() {
        "" => live.join("privkey.pem"),
        path => path.into(),
    };
    (cert, key, "nginx.tls_certificate")
}

pub(super) fn certificate(config: &Config, now: OffsetDateTime) -> Check {
    let id = CheckId::Certificate;
    let (cert_path, key_path, key_name) = certificate_files(config);
    let domain = config.nginx.server_name.as_str();
    let certbot = format!(
        "on the HOST_SERVER: certbot certonly --standalone -d {domain} (or set {key_name}); \
         on a host without the public certificate run doctor with --skip certificate"
    );
    let der = match first_certificate(&cert_path) {
        Ok(der) => der,
        Err(CertFileError::Missing) => {
            return Check::fail(
                id,
                format!("{} ({key_name}) does not exist", cert_path.display()),
                certbot,
            );
        }
        Err(CertFileError::Unreadable(e)) => {
            return Check::fail(
                id,
                format!("cannot read {}: {e}", cert_path.display()),
                "run doctor as a user that can read the certificate (e.g. root)",
            );
        }
        Err(CertFileError::NoPem) => {
            return Check::fail(
                id,
                format!("{} holds no PEM certificate", cert_path.display()),
                format!(
                    "{key_name} must name the PEM chain (fullchain.pem), leaf certificate first"
                ),
            );
        }
    };
    let facts = match CertFacts::parse(&der) {
        Ok(f) => f,
        Err(e) => {
            return Check::fail(
                id,
                format!(
                    "{} is not a parseable X.509 certificate: {e}",
                    cert_path.display()
                ),
                certbot,
            );
        }
    };
    if let Err(reason) = facts.judge(domain, now) {
        let fix = match reason {
            CertProblem::Name(_) => format!(
                "get a certificate for {domain} (certbot certonly -d {domain}), or correct nginx.server_name"
            ),
            CertProblem::Expiring(_) | CertProblem::NotYetValid(_) => {
                "renew it: certbot renew (and check `systemctl list-timers | grep certbot`); \
                 gamegate reloads a changed certificate by itself, nginx with `nginx -s reload`"
                    .into()
            }
        };
        return Check::fail(id, format!("{}: {reason}", cert_path.display()), fix);
    }
    if let Err(e) = private_key(&key_path) {
        return Check::fail(
            id,
            format!("private key {}: {e}", key_path.display()),
            "the key must be the PEM private key of this certificate (privkey.pem)",
        );
    }
    let days = (facts.not_after - now).whole_days();
    Check::pass(
        id,
        format!(
            "{}: for {domain}, valid until {} ({days} days left); key {} parses",
            cert_path.display(),
            facts.not_after.date(),
            key_path.display()
        ),
    )
}

pub(super) enum CertFileError {
    Missing,
    Unreadable(std::io::Error),
    NoPem,
}

pub(super) fn first_certificate(path: &Path) -> Result<Vec<u8>, CertFileError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CertFileError::Missing),
        Err(e) => return Err(CertFileError::Unreadable(e)),
    };
    CertificateDer::pem_slice_iter(&text)
        .next()
        .and_then(Result::ok)
        .map(|c| c.to_vec())
        .ok_or(CertFileError::NoPem)
}

pub(super) fn private_key(path: &Path) -> Result<(), String> {
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map(|_| ())
        .map_err(|_| "no PEM private key in it".to_owned())
}
