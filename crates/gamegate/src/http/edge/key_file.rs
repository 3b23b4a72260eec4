//! The API key `gamegate all` generates when none is configured, kept beside
//! the accounts database so it survives restarts.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use base64::Engine;
use rand::RngCore;

pub const KEY_FILE_NAME: &str = "gamegate.api-key";

/// `sqlite://dir/x.db` → `dir/gamegate.api-key`; any other database (or an
/// in-memory SQLite one) → `./gamegate.api-key`.
pub fn key_file_path(database_url: &str) -> PathBuf {
    let file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && !p.contains(":memory:"));
    match file.and_then(|p| Path::new(p).parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(KEY_FILE_NAME),
        _ => PathBuf::from(KEY_FILE_NAME),
    }
}

/// Reads the key in `path`, or creates the file (mode 0600) with a new key:
/// 32 random bytes, URL-safe base64 without padding.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<String> {
    match read_key(path) {
        Ok(Some(key)) => return Ok(key),
        Ok(None) => {}
        Err(e) => return Err(e),
    }
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{key}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot write the API key file {}", path.display()))?;
            Ok(key)
        }
        // Another process created it first: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(path)?.with_context(|| format!("the API key file {} is empty", path.display()))
        }
        Err(e) => {
            Err(e).with_context(|| format!("cannot create the API key file {}", path.display()))
        }
    }
}

fn read_key(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = text.trim();
            if key.is_empty() {
                bail!(
                    "the API key file {} is empty; delete it to generate a new key",
                    path.display()
                );
            }
            Ok(Some(key.to_owned()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => {
            Err(e).with_context(|| format!("cannot read the API key file {}", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            key_file_path("sqlite:///var/lib/gamegate/accounts.db"),
            PathBuf::from("/var/lib/gamegate/gamegate.api-key")
        );
        assert_eq!(
            key_file_path("sqlite://data/x.db?mode=rwc"),
            PathBuf::from("data/gamegate.api-key")
        );
        assert_eq!(
            key_file_path("sqlite://gamegate.db"),
            PathBuf::from(KEY_FILE_NAME)
        );
        assert_eq!(
            key_file_path("sqlite::memory:"),
            PathBuf::from(KEY_FILE_NAME)
        );
        assert_eq!(
            key_file_path("mysql://u:p@db/game"),
            PathBuf::from(KEY_FILE_NAME)
        );
    }

    #[test]
    fn a_key_is_created_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE_NAME);
        let first = load_or_create_key(&path).unwrap();
        assert_eq!(first.len(), 43, "32 bytes in unpadded base64");
        assert_eq!(load_or_create_key(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
