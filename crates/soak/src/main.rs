//! `gamegate-soak`: the long form of the soak test (bench/soak.sh runs it).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use gamegate_soak::SoakConfig;

#[derive(Debug, Parser)]
#[command(
    name = "gamegate-soak",
    about = "Bounded load at gamegate all while the game server restarts and slows down and the database drops connections; then checks both stores and RSS"
)]
struct Args {
    /// The gamegate binary to test.
    #[arg(long, default_value = "target/release/gamegate")]
    gamegate: PathBuf,
    /// MariaDB/MySQL server; the soak creates (and drops) its own database there.
    #[arg(
        long,
        env = "GAMEGATE_TEST_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306/test"
    )]
    mysql_url: String,
    /// How long the load runs.
    #[arg(long, default_value_t = 600)]
    duration_secs: u64,
    /// Requests started per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Share of registrations (the rest read the status).
    #[arg(long, default_value_t = 0.3)]
    register_share: f64,
    /// Allowed RSS growth in percent, last third against first third after warm-up.
    #[arg(long, default_value_t = 20.0)]
    rss_tolerance_pct: f64,
    /// Write the report here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Keep the soak's database for inspection.
    #[arg(long)]
    keep_database: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.rate > 0.0 && args.concurrency > 0 && (0.0..=1.0).contains(&args.register_share),
        "--rate and --concurrency must be positive, --register-share within 0..=1"
    );
    let report = gamegate_soak::run(&SoakConfig {
        gamegate_bin: args.gamegate,
        mysql_url: args.mysql_url,
        duration: Duration::from_secs(args.duration_secs),
        rate_per_sec: args.rate,
        concurrency: args.concurrency,
        register_share: args.register_share,
        rss_tolerance_pct: args.rss_tolerance_pct,
        keep_database: args.keep_database,
    })
    .await?;
    print!("{}", report.summary());
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")?;
    }
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}
