//! What makes the service re-read its config file: SIGHUP, and with `server.watch_config`, a
//! change of the file seen by polling.
//!
//! Polling (a SHA-256 of the content, every 2 s) rather than inotify: it needs no extra crate,
//! and it sees Kubernetes ConfigMap updates, which swap a `..data` symlink in the directory
//! rather than writing the file (an inotify watch on the file misses those). The content, not
//! the modification time, decides: a rewrite within the mtime's resolution is still seen, and a
//! `touch` is not a change. A config file is small; reading it every 2 s costs nothing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::Live;
use super::status::Trigger;

/// How often a watched file is looked at.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);
/// How long a changed file must stay the same before it is reloaded.
const SETTLE: Duration = Duration::from_millis(200);

/// Reload on every SIGHUP until `shutdown`. Without a signal handler SIGHUP would end the process.
pub fn reload_on_sighup(live: Arc<Live>, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGHUP; reload by restarting.");
                return;
            }
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    got = hangups.recv() => if got.is_none() { return },
                }
                tracing::info!("SIGHUP: reloading the configuration.");
                live.reload(Trigger::Sighup).await;
            }
        });
    }
    #[cfg(not(unix))]
    {
        let _ = (live, shutdown);
    }
}

/// The digest of the file's content (reading follows symlinks: a swapped target is seen).
async fn look(path: &PathBuf) -> Option<[u8; 32]> {
    let bytes = tokio::fs::read(path).await.ok()?;
    Some(Sha256::digest(&bytes).into())
}

/// Reload whenever the file's content changes, until `shutdown`. A file that cannot be read
/// (mid-swap, deleted) is looked at again on the next tick.
pub fn watch_file(live: Arc<Live>, every: Duration, shutdown: CancellationToken) {
    let Some(path) = live.file().cloned() else {
        return;
    };
    // The first digest is taken now, before the caller starts serving, not when the task
    // first runs: a change written right after start (before the task was polled) would
    // otherwise become the baseline and never be applied.
    let mut last = std::fs::read(&path)
        .ok()
        .map(|bytes| <[u8; 32]>::from(Sha256::digest(&bytes)));
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
            let Some(now) = look(&path).await else {
                continue;
            };
            if last == Some(now) {
                continue;
            }
            // A writer that truncates and then writes (not every editor renames a new file
            // into place) can be caught half-way: reload only content that stays the same
            // for a moment; content still changing is looked at again on the next tick.
            tokio::time::sleep(SETTLE).await;
            if look(&path).await != Some(now) {
                continue;
            }
            last = Some(now);
            tracing::info!(path = %path.display(), "The config file changed: reloading.");
            live.reload(Trigger::Watch).await;
        }
    });
}
