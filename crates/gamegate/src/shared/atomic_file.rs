//! Files replaced whole: written beside their final path under a temporary
//! name, created with their final permissions, then renamed over the target.
//! A reader (a reload, a restore) sees the old file or the new one, never
//! half of one; a file with keys is never readable by others, not even for
//! a moment. `gamegate render`/`keygen` and `gamegate backup` write this way.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// A temporary file beside its target, removed on drop unless
/// [`Pending::commit`] renamed it over the target.
#[derive(Debug)]
pub struct Pending {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl Pending {
    /// Creates `.NAME.tmp-PID` in `path`'s directory (`.` for a bare file
    /// name): a new file (never an existing one), its Unix permission bits
    /// `mode` set at creation (ignored elsewhere). Errors: `path` has no file
    /// name, or the file cannot be created.
    pub fn create(path: &Path, mode: u32) -> anyhow::Result<(Self, File)> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .with_context(|| format!("{} is not a file path", path.display()))?;
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let file = options
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        let pending = Self {
            tmp,
            target: path.to_owned(),
            committed: false,
        };
        Ok((pending, file))
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// The directory both files are in (to sync after the rename).
    pub fn dir(&self) -> &Path {
        self.tmp.parent().unwrap_or(Path::new("."))
    }

    /// Renames the temporary file over the target.
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.target)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `text` to `path` through a [`Pending`] file with `mode`, synced
/// to disk before the rename.
pub fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let (pending, mut file) = Pending::create(path, mode)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    pending
        .commit()
        .with_context(|| format!("cannot replace {}", path.display()))
}
