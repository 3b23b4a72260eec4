//! Records which commit the binary was built from, for `gamegate --version`
//! and the start-up banner: `GAMEGATE_COMMIT` when the build sets it (the
//! Dockerfile passes it as a build argument: the image's build context has no
//! `.git`), else `git rev-parse --short=12 HEAD`, else `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GAMEGATE_COMMIT");
    // A new commit changes HEAD or the branch it points at: those two files
    // (and packed-refs), found through git — in a worktree `.git` is a file,
    // HEAD lives in the worktree's own git directory and the branch in the
    // common one. Not all of refs/heads: a commit on another branch (another
    // worktree's) must not rebuild this crate.
    if let (Some(dir), Some(common)) = (
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) {
        let (dir, common) = (Path::new(dir.trim()), Path::new(common.trim()));
        let head = dir.join("HEAD");
        // A branch only in packed-refs gets its own file at the next commit:
        // its directory changes then.
        let branch = std::fs::read_to_string(&head)
            .ok()
            .and_then(|text| Some(common.join(text.strip_prefix("ref:")?.trim())))
            .and_then(|file| match file.exists() {
                true => Some(file),
                false => file.parent().map(Path::to_owned),
            });
        for file in [Some(head), branch, Some(common.join("packed-refs"))]
            .into_iter()
            .flatten()
        {
            if file.exists() {
                println!("cargo:rerun-if-changed={}", file.display());
            }
        }
    }
    let commit = std::env::var("GAMEGATE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GAMEGATE_COMMIT={}", commit.trim());
}

/// What `git ARGS` prints, when it runs and succeeds with some output.
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then_some(text)
}
