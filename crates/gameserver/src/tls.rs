//! TLS on the v1 link (docs/GAME_SERVER.md, "TLS on the link").
//!
//! - [`LinkTls`]: what the client needs — the server's certificate checked
//!   against a CA ([`LinkTls::with_ca`]) or a pinned SHA-256 fingerprint of
//!   its end-entity certificate ([`LinkTls::pinned`]), the name to check and
//!   send (SNI), and an optional client certificate ([`ClientIdentity`]).
//! - [`server_config`]: what the mock serves with (`gamegate gameserver-mock
//!   --tls-cert … --tls-key …`), optionally requiring client certificates.
//! - [`explain`]: a failed handshake in words an operator can act on (which
//!   CA, which pin, a plain-text server), never quoting the traffic.
//!
//! rustls with the ring provider, TLS 1.2 and 1.3 (rustls' safe defaults).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, Error as RustlsError,
    RootCertStore, ServerConfig, SignatureScheme,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// Why TLS settings could not be turned into a configuration. The messages
/// name the problem, never the key material.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// No PEM `CERTIFICATE` block in what should be a certificate (chain).
    #[error("no PEM certificate found")]
    NoCertificate,
    /// A PEM block that does not decode.
    #[error("unreadable PEM: {0}")]
    Pem(String),
    /// No PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[error("no PEM private key found")]
    NoKey,
    /// Not a DNS name or an IP address.
    #[error("{0:?} is not a DNS name or an IP address")]
    ServerName(String),
    /// Not 32 bytes of hex.
    #[error(
        "a SHA-256 fingerprint is 64 hex digits, with or without colons (AB:CD:…); got {0} hex digits"
    )]
    Fingerprint(usize),
    /// rustls refused the material (a key that does not match the
    /// certificate, an unusable CA certificate, …).
    #[error("{0}")]
    Rustls(#[from] RustlsError),
}

/// The SHA-256 of a certificate's DER: what `fingerprint_sha256` pins.
/// Shown as upper-case hex pairs separated by colons, as `openssl x509
/// -fingerprint -sha256` prints it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of(der: &[u8]) -> Self {
        let digest = Sha256::digest(der);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&digest);
        Self(bytes)
    }

    /// The fingerprint of the first certificate in a PEM text.
    /// Errs when it holds none.
    pub fn of_pem(pem: &[u8]) -> Result<Self, TlsSetupError> {
        Ok(Self::of(&first_certificate(pem)?))
    }
}

impl FromStr for Fingerprint {
    type Err = TlsSetupError;

    /// 64 hex digits, upper or lower case, with or without `:` between pairs
    /// (surrounding spaces ignored), optionally after the `sha256
    /// Fingerprint=` that `openssl x509 -fingerprint -sha256` prints.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let s = s.rsplit_once('=').map_or(s, |(_, hex)| hex);
        let digits: Vec<u8> = s.trim().bytes().filter(|b| *b != b':').collect();
        if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(TlsSetupError::Fingerprint(
                digits.iter().filter(|b| b.is_ascii_hexdigit()).count(),
            ));
        }
        let nibble = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
        let mut bytes = [0u8; 32];
        for (i, pair) in digits.chunks(2).enumerate() {
            bytes[i] = nibble(pair[0]) << 4 | nibble(pair[1]);
        }
        Ok(Self(bytes))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// How the client decides that the certificate is the game server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Chains to a CA of `game_server.tls.ca_file` and names the server
    /// name; dates checked.
    Ca,
    /// Its end-entity certificate has exactly this SHA-256 fingerprint
    /// (`game_server.tls.fingerprint_sha256`); names and dates are not
    /// checked — the pin is the identity. The handshake signature is still
    /// verified with the certificate's key.
    Pinned(Fingerprint),
}

impl fmt::Display for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trust::Ca => f.write_str("server certificate verified against the CA file"),
            Trust::Pinned(pin) => {
                let short: String = pin.to_string().chars().take(11).collect();
                write!(f, "server certificate pinned (SHA-256 {short}…)")
            }
        }
    }
}

/// A client certificate and its key (mutual TLS). `Debug` shows no key.
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// From a PEM certificate chain and a PEM private key.
    /// Errs when either holds none or does not decode.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsSetupError> {
        let chain = certificates(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => TlsSetupError::NoKey,
            other => TlsSetupError::Pem(other.to_string()),
        })?;
        Ok(Self { chain, key })
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// TLS for the client's connections: the rustls configuration, the name it
/// checks and sends, and how it trusts the server. Cheap to clone.
#[derive(Clone)]
pub struct LinkTls {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    trust: Trust,
    client_certificate: bool,
}

impl fmt::Debug for LinkTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkTls")
            .field("server_name", &self.server_name)
            .field("trust", &self.trust)
            .field("client_certificate", &self.client_certificate)
            .finish_non_exhaustive()
    }
}

impl LinkTls {
    /// Trusts certificates that chain to a CA in `ca_pem` (one or more PEM
    /// certificates) and name `server_name`.
    /// Errs when `ca_pem` holds no usable CA certificate, the name is
    /// neither a DNS name nor an IP address, or the identity is refused.
    pub fn with_ca(
        ca_pem: &[u8],
        server_name: &str,
        identity: Option<ClientIdentity>,
    ) -> Result<Self, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        for cert in certificates(ca_pem)? {
            roots.add(cert)?;
        }
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let has_identity = identity.is_some();
        let config = match identity {
            Some(id) => builder.with_client_auth_cert(id.chain, id.key)?,
            None => builder.with_no_client_auth(),
        };
        Self::assemble(config, server_name, Trust::Ca, has_identity)
    }

    /// Trusts exactly the server certificate whose SHA-256 is `pin`;
    /// `server_name` is still sent (SNI) but not checked.
    /// Errs when the name is neither a DNS name nor an IP address, or the
    /// identity is refused.
    pub fn pinned(
        pin: Fingerprint,
        server_name: &str,
        identity: Option<ClientIdentity>,
    ) -> Result<Self, TlsSetupError> {
        let provider = provider();
        let verifier = PinnedVerifier {
            pin,
            algorithms: provider.signature_verification_algorithms,
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier));
        let has_identity = identity.is_some();
        let config = match identity {
            Some(id) => builder.with_client_auth_cert(id.chain, id.key)?,
            None => builder.with_no_client_auth(),
        };
        Self::assemble(config, server_name, Trust::Pinned(pin), has_identity)
    }

    fn assemble(
        config: ClientConfig,
        server_name: &str,
        trust: Trust,
        client_certificate: bool,
    ) -> Result<Self, TlsSetupError> {
        let name = server_name.trim_start_matches('[').trim_end_matches(']');
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|_| TlsSetupError::ServerName(server_name.to_owned()))?;
        Ok(Self {
            config: Arc::new(config),
            server_name,
            trust,
            client_certificate,
        })
    }

    /// How the server's certificate is trusted.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }

    /// The name checked (with a CA) and sent as SNI (when a DNS name).
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }

    /// Whether a client certificate is presented (mutual TLS).
    pub fn has_client_certificate(&self) -> bool {
        self.client_certificate
    }

    /// The rustls connector for a handshake.
    pub(crate) fn connector(&self) -> tokio_rustls::TlsConnector {
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
    }

    /// The handshake the client makes, over `tcp` and within `limit`: the
    /// same configuration, server name and trust, for callers that speak
    /// the protocol themselves (`gamegate gameserver check`'s raw
    /// connections). Nothing is sent before it completes.
    ///
    /// # Errors
    /// The handshake failed (another CA, another pin, a plain-text server,
    /// our client certificate refused) or did not finish within `limit`,
    /// explained as [`explain`] does.
    pub async fn handshake(
        &self,
        tcp: tokio::net::TcpStream,
        limit: Duration,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Explained> {
        let handshake = self.connector().connect(self.server_name.clone(), tcp);
        match tokio::time::timeout(limit, handshake).await {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(err)) => Err(explain(&err, self).unwrap_or_else(|| explain_closed(&err))),
            Err(_) => Err(explain_timeout(limit)),
        }
    }
}

/// The mock's TLS: serves the chain of `chain_pem` with `key_pem`; with
/// `client_ca_pem`, requires a client certificate that CA signed.
/// Errs when a file holds no certificate or key, or they do not match.
pub fn server_config(
    chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let identity = ClientIdentity::from_pem(chain_pem, key_pem)?;
    let builder =
        ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match client_ca_pem {
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(pem)? {
                roots.add(cert)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                roots.into(),
                provider(),
            )
            .build()
            .map_err(|e| TlsSetupError::Pem(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(
        builder.with_single_cert(identity.chain, identity.key)?,
    ))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsSetupError::Pem(e.to_string()))?;
    match certs.is_empty() {
        true => Err(TlsSetupError::NoCertificate),
        false => Ok(certs),
    }
}

fn first_certificate(pem: &[u8]) -> Result<CertificateDer<'static>, TlsSetupError> {
    Ok(certificates(pem)?.remove(0))
}

/// The certificate presented is not the pinned one.
#[derive(Debug, thiserror::Error)]
#[error("certificate fingerprint {presented} is not the pinned one")]
struct PinMismatch {
    presented: Fingerprint,
}

/// Accepts exactly the pinned end-entity certificate, and verifies the
/// handshake signatures with its key like the WebPKI verifier does.
#[derive(Debug)]
struct PinnedVerifier {
    pin: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, RustlsError> {
        // A fingerprint is public: no need for a constant-time comparison.
        let presented = Fingerprint::of(end_entity);
        if presented == self.pin {
            return Ok(ServerCertVerified::assertion());
        }
        Err(RustlsError::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(PinMismatch { presented })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, RustlsError> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS failure as the operator reads it: what happened and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// What happened (no secret, no traffic quoted).
    pub detail: String,
    /// What to change.
    pub hint: String,
}

/// The advice for a server that does not answer in TLS.
const PLAIN_TEXT_HINT: &str = "the game server speaks plain text on this port: enable TLS on it, \
     or set game_server.tls.enabled = false (only on a private link)";

/// Explains `err`, an I/O error of a TLS handshake or of a TLS connection,
/// for a client configured with `tls`. `None` when it carries no TLS cause
/// (a plain I/O error: reset, closed).
pub fn explain(err: &std::io::Error, tls: &LinkTls) -> Option<Explained> {
    let cause = err.get_ref()?.downcast_ref::<RustlsError>()?;
    Some(explain_rustls(cause, tls))
}

fn explain_rustls(err: &RustlsError, tls: &LinkTls) -> Explained {
    let name = name_of(&tls.server_name);
    let (detail, hint) = match err {
        RustlsError::InvalidCertificate(cert) => return explain_certificate(cert, tls),
        RustlsError::InvalidMessage(_)
        | RustlsError::InappropriateMessage { .. }
        | RustlsError::InappropriateHandshakeMessage { .. }
        | RustlsError::PeerSentOversizedRecord => (
            "the game server did not answer in TLS".to_owned(),
            PLAIN_TEXT_HINT.to_owned(),
        ),
        RustlsError::AlertReceived(
            alert @ (AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied),
        ) => (
            format!("the game server refused our client certificate (TLS alert {alert:?})"),
            match tls.client_certificate {
                false => "the game server requires a client certificate: set \
                          game_server.tls.client_cert and game_server.tls.client_key"
                    .to_owned(),
                true => "give gamegate a client certificate signed by the CA the game server \
                         trusts (game_server.tls.client_cert, game_server.tls.client_key)"
                    .to_owned(),
            },
        ),
        RustlsError::AlertReceived(alert) => (
            format!("the game server ended the TLS handshake (TLS alert {alert:?})"),
            "see the game server's log for why it refused the connection".to_owned(),
        ),
        RustlsError::PeerIncompatible(why) => (
            format!("no TLS version or cipher in common with the game server ({why:?})"),
            "the game server must offer TLS 1.2 or 1.3 with a current cipher suite".to_owned(),
        ),
        other => (
            format!("TLS failed: {other}"),
            format!("check the game server's TLS setup for {name}"),
        ),
    };
    Explained { detail, hint }
}

fn explain_certificate(err: &CertificateError, tls: &LinkTls) -> Explained {
    let name = name_of(&tls.server_name);
    let (detail, hint) = match err {
        CertificateError::Other(other) => match other.0.downcast_ref::<PinMismatch>() {
            Some(PinMismatch { presented }) => {
                let pin = match &tls.trust {
                    Trust::Pinned(pin) => pin.to_string(),
                    Trust::Ca => "none".to_owned(),
                };
                (
                    format!(
                        "the game server's certificate has SHA-256 fingerprint {presented}, \
                         not the pinned {pin}"
                    ),
                    "if the game server's certificate was replaced on purpose, pin the new one in \
                     game_server.tls.fingerprint_sha256 (`openssl x509 -in cert.pem -noout \
                     -fingerprint -sha256`); otherwise something else answers at this address"
                        .to_owned(),
                )
            }
            None => (
                format!("the game server's certificate was refused: {other}"),
                "check game_server.tls".to_owned(),
            ),
        },
        CertificateError::UnknownIssuer => (
            "the game server's certificate is not signed by the CA in game_server.tls.ca_file"
                .to_owned(),
            "put the CA that signed the game server's certificate in game_server.tls.ca_file, \
             or give the game server a certificate signed by that CA"
                .to_owned(),
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let presented = match err {
                CertificateError::NotValidForNameContext { presented, .. } => {
                    format!(" (it names {})", presented.join(", "))
                }
                _ => String::new(),
            };
            (
                format!("the game server's certificate is not valid for {name}{presented}"),
                "set game_server.tls.server_name to a name the certificate carries, or reissue \
                 the certificate for the name gamegate connects to"
                    .to_owned(),
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
            "the game server's certificate has expired".to_owned(),
            "renew the game server's certificate (or check this host's clock)".to_owned(),
        ),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
            "the game server's certificate is not valid yet".to_owned(),
            "check this host's clock, or the certificate's start date".to_owned(),
        ),
        other => (
            format!("the game server's certificate was refused: {other}"),
            "give the game server a certificate the CA in game_server.tls.ca_file signed for \
             its name"
                .to_owned(),
        ),
    };
    Explained { detail, hint }
}

/// A handshake that did not complete within `limit`.
pub fn explain_timeout(limit: Duration) -> Explained {
    Explained {
        detail: format!("no TLS handshake within {} ms", limit.as_millis()),
        hint: format!(
            "{PLAIN_TEXT_HINT}; if it is only slow, raise game_server.connect_timeout_ms"
        ),
    }
}

/// A handshake ended by the server closing or resetting the connection.
pub fn explain_closed(err: &std::io::Error) -> Explained {
    Explained {
        detail: format!("the game server closed the connection during the TLS handshake ({err})"),
        hint: "check that the game server speaks TLS on this port and accepts this client \
               (a client certificate?)"
            .to_owned(),
    }
}

fn name_of(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "the server".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons_and_print_like_openssl() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        let a: Fingerprint = hex.parse().unwrap();
        let b: Fingerprint = colons.parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), colons);
        let openssl: Fingerprint = format!("sha256 Fingerprint={colons}").parse().unwrap();
        assert_eq!(openssl, a, "pasted from openssl x509 -fingerprint");
        let c: Fingerprint = format!("  {}  ", "0f".repeat(32)).parse().unwrap();
        assert!(c.to_string().starts_with("0F:0F:"));
        for bad in [
            "",
            "abc",
            &"ab".repeat(31),
            &"zz".repeat(32),
            &"ab".repeat(33),
        ] {
            let err = bad.parse::<Fingerprint>().unwrap_err();
            assert!(err.to_string().contains("64 hex digits"), "{err}");
        }
        assert_eq!(
            Fingerprint::of(b"x"),
            Fingerprint::of(b"x"),
            "same input, same fingerprint"
        );
    }

    #[test]
    fn bad_material_is_refused_with_a_reason() {
        assert!(matches!(
            LinkTls::with_ca(b"not a pem", "localhost", None),
            Err(TlsSetupError::NoCertificate)
        ));
        let pin = Fingerprint::of(b"x");
        assert!(matches!(
            LinkTls::pinned(pin, "not a name!", None),
            Err(TlsSetupError::ServerName(_))
        ));
        let tls = LinkTls::pinned(pin, "[::1]", None).unwrap();
        assert_eq!(name_of(tls.server_name()), "::1");
        assert!(!tls.has_client_certificate());
        assert!(matches!(
            ClientIdentity::from_pem(b"", b""),
            Err(TlsSetupError::NoCertificate)
        ));
    }

    #[test]
    fn explanations_name_the_fix() {
        let pin = Fingerprint::of(b"pinned");
        let tls = LinkTls::pinned(pin, "game.internal", None).unwrap();
        let mismatch = RustlsError::InvalidCertificate(CertificateError::Other(
            rustls::OtherError(Arc::new(PinMismatch {
                presented: Fingerprint::of(b"other"),
            })),
        ));
        let e = explain_rustls(&mismatch, &tls);
        assert!(e.detail.contains(&Fingerprint::of(b"other").to_string()));
        assert!(e.detail.contains(&pin.to_string()));
        assert!(e.hint.contains("fingerprint_sha256"));
        let e = explain_rustls(
            &RustlsError::InvalidCertificate(CertificateError::UnknownIssuer),
            &tls,
        );
        assert!(e.hint.contains("ca_file"), "{e:?}");
        let e = explain_rustls(
            &RustlsError::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
            &tls,
        );
        assert!(e.hint.contains("plain text"), "{e:?}");
        let e = explain_rustls(
            &RustlsError::AlertReceived(AlertDescription::CertificateRequired),
            &tls,
        );
        assert!(e.hint.contains("client_cert"), "{e:?}");
        assert!(
            explain_timeout(Duration::from_millis(300))
                .detail
                .contains("300 ms")
        );
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, mismatch);
        assert!(explain(&io, &tls).is_some());
        let plain = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(explain(&plain, &tls).is_none());
    }
}
