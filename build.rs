//! Build script: records the git commit the binary was built from, for `--version` and the
//! `pinbridge_build_info` metric. It never fails the build: without git (a source tarball, a
//! container build without `.git`) the commit is "unknown".

use std::path::Path;
use std::process::Command;

fn main() {
    // Container builds copy the sources without `.git`; they can pass the commit in instead.
    println!("cargo:rerun-if-env-changed=PINBRIDGE_BUILD_COMMIT");
    println!("cargo:rerun-if-changed=build.rs");
    let commit = std::env::var("PINBRIDGE_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    watch_head();
    println!("cargo:rustc-env=PINBRIDGE_COMMIT={}", commit.trim());
}

/// Rebuild when HEAD moves: the HEAD file (a branch switch) and the branch it names (a commit).
/// In a worktree `.git` is a file, so ask git where HEAD lives rather than assume `.git/HEAD`.
fn watch_head() {
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["symbolic-ref", "-q", "HEAD"])
            .and_then(|branch| git(&["rev-parse", "--git-path", branch.trim()])),
    ]
    .into_iter()
    .flatten()
    {
        let path = path.trim();
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// The trimmed output of a successful git command, or `None` (no git, not a repository).
fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
