use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match gamegate::cli::run(gamegate::cli::Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gamegate: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
