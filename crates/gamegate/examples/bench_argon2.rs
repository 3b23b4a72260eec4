//! Times one Argon2id hash with gamegate's default parameters, single-threaded:
//! the unit of the register throughput target (cores ÷ hash time).

use std::time::Instant;

use gamegate::app::hashing::PasswordHasher;
use gamegate::config::PasswordHashConfig;
use gamegate_domain::Password;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = PasswordHashConfig::default();
    let hasher = PasswordHasher::new(&PasswordHashConfig {
        max_concurrent: 1,
        ..config.clone()
    })
    .expect("valid params");
    let password = Password::new("secret12".into());
    hasher.hash(&password).await.expect("warm-up hash");
    let rounds = 30;
    let started = Instant::now();
    for _ in 0..rounds {
        hasher.hash(&password).await.expect("hash");
    }
    let per_hash = started.elapsed().as_secs_f64() / f64::from(rounds);
    println!(
        "argon2id m={}KiB t={} p={}: {:.2} ms per hash",
        config.memory_kib,
        config.iterations,
        config.parallelism,
        per_hash * 1000.0
    );
}
