//! Secrets made from the OS's random source: API keys and WireGuard key
//! pairs (`gamegate keygen`, the key file of `gamegate all`, `render`).

use anyhow::Context;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore as _;

/// A 32-byte WireGuard key (private or public). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WgKey([u8; 32]);

impl std::fmt::Debug for WgKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WgKey(***)")
    }
}

impl WgKey {
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// WireGuard's format: 44 characters of standard base64 for 32 bytes.
    /// The message never repeats the value (it may be a private key).
    pub fn parse(what: &str, text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        let bytes = (text.len() == 44)
            .then(|| STANDARD.decode(text).ok())
            .flatten()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .with_context(|| {
                format!(
                    "{what} is not a WireGuard key (44 characters of base64, as `wg genkey` writes)"
                )
            })?;
        Ok(Self(bytes))
    }

    /// The public key of this private key.
    pub fn public(&self) -> WgKey {
        let secret = x25519_dalek::StaticSecret::from(self.0);
        WgKey(x25519_dalek::PublicKey::from(&secret).to_bytes())
    }
}

/// Clamps as `wg genkey` does (RFC 7748 §5), so the stored private key is
/// the exact scalar used and other tools derive the same public key.
fn clamp(mut k: [u8; 32]) -> [u8; 32] {
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    k
}

/// A new (private, public) pair.
pub fn wireguard_pair() -> (WgKey, WgKey) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let private = WgKey(clamp(bytes));
    let public = private.public();
    (private, public)
}

/// A new API key: 32 random bytes, standard base64 (44 characters).
pub fn api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7748_vector_gives_the_known_public_key() {
        // RFC 7748 §6.1, Alice's key pair.
        let hex = |s: &str| -> [u8; 32] {
            let v: Vec<u8> = (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
                .collect();
            v.try_into().unwrap()
        };
        let key = WgKey(hex(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        assert_eq!(
            key.public().0,
            hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
    }

    #[test]
    fn generated_keys_are_clamped_and_round_trip_in_wireguard_format() {
        let (private, public) = wireguard_pair();
        assert_eq!(private.0[0] & 7, 0);
        assert_eq!(private.0[31] & 0xc0, 0x40);
        let text = private.to_base64();
        assert_eq!(text.len(), 44);
        assert_eq!(WgKey::parse("k", &format!("{text}\n")).unwrap(), private);
        assert_eq!(private.public(), public);
        assert!(WgKey::parse("k", "short").is_err());
        let err = format!("{:#}", WgKey::parse("k", &text[..43]).unwrap_err());
        assert!(!err.contains(&text[..43]));
        assert_eq!(format!("{private:?}"), "WgKey(***)");
    }

    #[test]
    fn api_keys_are_32_random_bytes_of_base64() {
        let k = api_key();
        assert_eq!(STANDARD.decode(&k).unwrap().len(), 32);
        assert_ne!(k, api_key());
    }
}
