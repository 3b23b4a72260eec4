//! Records which commit the binary was built from, for `gamegate --version`
//! and the start-up banner: `GAMEGATE_COMMIT` when the build sets it (the
//! Dockerfile passes it as a build argument: the image's build context has no
//! `.git`), else `git rev-parse --short=12 HEAD`, else `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=GAMEGATE_COMMIT");
    // A new commit changes HEAD or the branch it points at.
    for file in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ] {
        if Path::new(file).exists() {
            println!("cargo:rerun-if-changed={file}");
        }
    }
    let commit = std::env::var("GAMEGATE_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GAMEGATE_COMMIT={}", commit.trim());
}

fn git_head() -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let head = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !head.trim().is_empty()).then_some(head)
}
