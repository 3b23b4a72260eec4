//! Argon2id password hashing on a dedicated pool of N threads, so a burst of
//! registrations queues for CPU instead of stalling the async runtime.
//!
//! Memory: each hash needs m KiB of working memory (19 MiB by default).
//! Allocating and freeing that per hash let glibc's heap grow to 300–800 MiB
//! under load in the benchmark (fragmentation; capping arenas did not help).
//! Each hashing thread therefore keeps one block buffer and reuses it, so the
//! working memory is bounded at N × m.

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use std::cell::RefCell;

use argon2::password_hash::{
    Output, ParamsString, PasswordHash, PasswordVerifier as _, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use gamegate_domain::Password;
use tokio::sync::oneshot;

use crate::config::PasswordHashConfig;

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    pool: Arc<rayon::ThreadPool>,
}

impl PasswordHasher {
    pub fn new(config: &PasswordHashConfig) -> anyhow::Result<Self> {
        let params = Params::new(
            config.memory_kib,
            config.iterations,
            config.parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid password_hash parameters: {e}"))?;
        let concurrency = match config.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(concurrency)
            .thread_name(|i| format!("argon2-{i}"))
            // A panicking job drops its reply sender, so the request fails
            // with an internal error instead of rayon aborting the process.
            .panic_handler(|_| tracing::error!("a password-hashing job panicked"))
            .build()
            .context("cannot start the hashing threads")?;
        Ok(Self {
            params,
            pool: Arc::new(pool),
        })
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Hashes into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let params = self.params.clone();
        let password = password.clone();
        let (reply, result) = oneshot::channel();
        self.pool.spawn(move || {
            let hashed = hash_with_reused_memory(params, password.expose().as_bytes());
            // The requester may have gone away; nothing to do then.
            let _ = reply.send(hashed);
        });
        result.await.context("hashing thread dropped the job")?
    }

    /// [`PasswordHasher::verify`] on the hashing threads (it costs what a
    /// hash costs), for a password change's current password. Argon2's
    /// comparison of the outputs is constant-time.
    pub async fn check(&self, password: &Password, phc: String) -> anyhow::Result<bool> {
        let password = password.clone();
        let (reply, result) = oneshot::channel();
        self.pool.spawn(move || {
            let _ = reply.send(Self::verify(password.expose(), &phc));
        });
        result.await.context("hashing thread dropped the job")
    }

    /// Checks a password against a stored PHC string (parameters come from the string).
    pub fn verify(password: &str, phc: &str) -> bool {
        PasswordHash::new(phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

thread_local! {
    /// This hashing thread's Argon2 working memory, kept between hashes.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// What `PasswordHasher::hash_password` does, but with the thread's reusable
/// block buffer instead of a fresh allocation.
fn hash_with_reused_memory(params: Params, password: &[u8]) -> anyhow::Result<String> {
    let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("argon2 failed: {e}");
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| fail(&e))?;
    let output_len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let params_string = ParamsString::try_from(&params).map_err(|e| fail(&e))?;
    let argon2 = PasswordHasher::argon2(params.clone());
    let output = BLOCKS
        .with_borrow_mut(|blocks| {
            blocks.resize(params.block_count(), Block::default());
            Output::init_with(output_len, |out| {
                argon2
                    .hash_password_into_with_memory(password, salt_bytes, out, &mut blocks[..])
                    .map_err(|_| argon2::password_hash::Error::Crypto)
            })
        })
        .map_err(|e| fail(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params_string,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verifiable() {
        let hasher = PasswordHasher::new(&PasswordHashConfig {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 1,
        })
        .unwrap();
        let pw = Password::new("secret12".into());
        let a = hasher.hash(&pw).await.unwrap();
        let b = hasher.hash(&pw).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "salts must differ");
        assert!(PasswordHasher::verify("secret12", &a));
        assert!(!PasswordHasher::verify("secret13", &a));
    }
}
