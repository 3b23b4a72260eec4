//! `gamegate keygen api-key|wireguard`: secrets generated from the OS's
//! random source, printed once (or written mode 0600), never logged.

use std::io::Write;
use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;

use crate::shared::keys::{api_key, wireguard_pair};

#[derive(Debug, Subcommand)]
pub enum KeygenCommand {
    /// A new API key for edge.api_keys: 32 random bytes, base64 (printed once).
    ApiKey,
    /// A WireGuard key pair (Curve25519, base64 as `wg genkey | wg pubkey`).
    Wireguard {
        /// Write the private key to this file (mode 0600, refuses to overwrite)
        /// and print only the public key; without it both are printed.
        #[arg(long)]
        private_key_file: Option<PathBuf>,
    },
}

pub fn run(command: KeygenCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        KeygenCommand::ApiKey => {
            writeln!(out, "{}", api_key())?;
            eprintln!(
                "gamegate: shown once; add it to edge.api_keys (GAMEGATE_EDGE__API_KEYS_FILE) \
                 and give it to the site's server"
            );
        }
        KeygenCommand::Wireguard { private_key_file } => {
            let (private, public) = wireguard_pair();
            match private_key_file {
                Some(path) => {
                    if path.exists() {
                        bail!("{} exists; not overwriting a key", path.display());
                    }
                    crate::shared::atomic_file::write(
                        &path,
                        &format!("{}\n", private.to_base64()),
                        0o600,
                    )?;
                    eprintln!(
                        "gamegate: wrote the private key to {} (mode 0600)",
                        path.display()
                    );
                    writeln!(out, "{}", public.to_base64())?;
                }
                None => {
                    writeln!(out, "PrivateKey = {}", private.to_base64())?;
                    writeln!(out, "PublicKey = {}", public.to_base64())?;
                }
            }
        }
    }
    Ok(())
}
