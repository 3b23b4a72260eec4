//! SRP6 registration data exactly as AzerothCore and TrinityCore store it in
//! `account.salt` and `account.verifier`.
//!
//! Both cores compute (AzerothCore `src/common/Cryptography/Authentication/SRP6.cpp`,
//! `SRP6::CalculateVerifier`; TrinityCore 3.3.5 the same file and function):
//!
//! ```text
//! x = SHA-1(salt ‖ SHA-1(USERNAME ":" PASSWORD))   read as a little-endian integer
//! v = g^x mod N                                     stored little-endian in 32 bytes
//! g = 7, N = 0x894B645E89E1535BBDAD5B8B290650530801B18EBFBF5E8FAB3C82872A3E9BB7
//! ```
//!
//! where `USERNAME` and `PASSWORD` are upper-cased with `Utf8ToUpperOnlyLatin`
//! (`src/common/Utilities/Util.cpp`): ASCII `a`–`z` become `A`–`Z`, every
//! other character is left as it is ([`upper_latin`]). The salt is 32 random
//! bytes (`Crypto::GetRandomBytes` in `SRP6::MakeRegistrationData`), stored as
//! they are. A verifier computed any other way — big-endian, without the
//! upper-casing, or Unicode upper-casing — is an account the game client can
//! never log in to.
//!
//! Why not the `wow_srp` crate: its `NormalizedString` refuses usernames
//! longer than 16 bytes, while AzerothCore stores 17-character ones
//! (`MAX_ACCOUNT_STR 17`), so it cannot compute every verifier the core does.
//! The computation is a SHA-1 pair and one 256-bit modular power; `sha1` and
//! `num-bigint` are already in the build.

use num_bigint::BigUint;
use rand::RngCore;
use sha1::{Digest, Sha1};

/// Length of `account.salt` (`binary(32)`): `SRP6::SALT_LENGTH`.
pub const SALT_LEN: usize = 32;
/// Length of `account.verifier` (`binary(32)`): `SRP6::VERIFIER_LENGTH`.
pub const VERIFIER_LEN: usize = 32;

/// The generator `g` of the WoW authentication protocol (`SRP6::g = { 7 }`).
pub const G: u8 = 7;

/// The 32-byte safe prime `N` of the WoW authentication protocol, big-endian
/// as the cores write it in hex (`SRP6::N`).
pub const N_HEX: &str = "894B645E89E1535BBDAD5B8B290650530801B18EBFBF5E8FAB3C82872A3E9BB7";

/// A salt as stored in `account.salt`.
pub type Salt = [u8; SALT_LEN];
/// A verifier as stored in `account.verifier` (little-endian).
pub type Verifier = [u8; VERIFIER_LEN];

/// Upper-cases ASCII letters only, as the cores' `Utf8ToUpperOnlyLatin`
/// (`wcharToUpperOnlyLatin`: `isBasicLatinCharacter` → `wcharToUpper`); every
/// other character, `é` and `я` included, is kept as it is.
pub fn upper_latin(text: &str) -> String {
    text.to_ascii_uppercase()
}

fn modulus() -> BigUint {
    BigUint::parse_bytes(N_HEX.as_bytes(), 16).expect("N is hex")
}

/// The verifier of `username`/`password` under `salt`. Both texts are
/// upper-cased here ([`upper_latin`]), as the cores do before hashing.
pub fn verifier(username: &str, password: &str, salt: &Salt) -> Verifier {
    let inner = Sha1::new()
        .chain_update(upper_latin(username).as_bytes())
        .chain_update(b":")
        .chain_update(upper_latin(password).as_bytes())
        .finalize();
    let x = Sha1::new()
        .chain_update(salt)
        .chain_update(inner)
        .finalize();
    let x = BigUint::from_bytes_le(&x);
    let v = BigUint::from(G).modpow(&x, &modulus());
    let mut out = [0u8; VERIFIER_LEN];
    let bytes = v.to_bytes_le();
    // v < N < 2^256: at most 32 bytes; the rest stays zero (little-endian).
    out[..bytes.len()].copy_from_slice(&bytes);
    out
}

/// A fresh random salt (32 bytes from the operating system) and the
/// verifier for it: what `SRP6::MakeRegistrationData` returns.
pub fn registration_data(username: &str, password: &str) -> (Salt, Verifier) {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let verifier = verifier(username, password, &salt);
    (salt, verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_casing_is_ascii_only() {
        assert_eq!(upper_latin("héRo_é1я"), "HéRO_é1я");
    }

    #[test]
    fn case_of_the_input_does_not_matter_and_salt_does() {
        let salt = [3u8; SALT_LEN];
        assert_eq!(
            verifier("hero", "secret12", &salt),
            verifier("HERO", "SECRET12", &salt)
        );
        assert_ne!(
            verifier("hero", "secret12", &salt),
            verifier("hero", "secret12", &[4u8; SALT_LEN])
        );
        let (salt, v) = registration_data("Hero", "secret12");
        assert_eq!(verifier("HERO", "SECRET12", &salt), v);
    }

    #[test]
    fn known_answer_from_the_python_reference() {
        // tests/srp6_reference.py: user "a", password "b", 32 zero bytes of salt.
        let v = verifier("a", "b", &[0u8; SALT_LEN]);
        let hex: String = v.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "303c245b16c23522f89d7095398b2cec7d8a33d711bd5b9bc427bd6d678bf93b"
        );
    }

    #[test]
    fn verifier_is_below_n_and_little_endian() {
        let n = modulus();
        for i in 0..50u8 {
            let v = verifier("A", &format!("p{i}"), &[i; SALT_LEN]);
            assert!(BigUint::from_bytes_le(&v) < n);
        }
        assert_eq!(n.to_bytes_be().len(), 32);
    }
}
