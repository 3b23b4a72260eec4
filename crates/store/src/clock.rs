//! The wall clock, read in one place.
//!
//! Here and not in the domain crate, which stays free of effects (its rules
//! take `now` as an argument): the store is the lowest crate that reads the
//! clock itself (it stamps `created_at` inside each reservation attempt, and
//! battles on ingestion), and every other reader (the gamegate crate, its
//! commands and tests) already depends on it. The one exception is the
//! gameserver crate, below the store: the HTTP connector's request signatures
//! read the clock in `gamegate_gameserver::http::signature::clock_secs`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, UTC; 0 on a clock set before 1970.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file below `dir`, `target` directories left out.
    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    rust_files(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The clock has one reader: a second `fn unix_now` anywhere in the
    /// workspace's crates fails here (import this one instead).
    #[test]
    fn unix_now_is_defined_once_in_the_workspace() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        rust_files(&crates, &mut files);
        // Split, so that this line is not a definition itself.
        let needle = concat!("fn ", "unix_now(");
        let definitions: Vec<String> = files
            .iter()
            .flat_map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                text.lines()
                    .enumerate()
                    .filter(|(_, l)| l.contains(needle))
                    .map(|(n, _)| format!("{}:{}", f.display(), n + 1))
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            definitions.len(),
            1,
            "`fn unix_now` must exist once (gamegate_store::unix_now): {definitions:#?}"
        );
    }
}
