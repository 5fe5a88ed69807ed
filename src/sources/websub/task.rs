//! A feed's task when WebSub is available: the poller's cycle, plus subscription upkeep, and
//! the slow fallback schedule while pushes arrive.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::WebSub;
use crate::ingest::Ingest;
use crate::shutdown::sleep_or_cancel;
use crate::sources::feed::{FeedSource, PollReport, poll_cycle};
use crate::sources::lease::{SourceLease, Turn};

/// Poll `source` and keep its subscription alive until `shutdown`.
pub async fn run(
    source: FeedSource,
    ingest: Ingest,
    websub: Arc<WebSub>,
    shutdown: CancellationToken,
) {
    let id = source.id().clone();
    tracing::info!(source = %id, url = %source.display_url(), "feed poller started (WebSub enabled)");
    // A secret an older build (or a run without token keys) stored in plain text is sealed now.
    match websub.seal_stored_secret(&id).await {
        Ok(true) => {
            tracing::info!(source = %id, "WebSub: the stored subscription secret is now sealed")
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(source = %id, error = %e, "WebSub: could not seal the stored secret")
        }
    }
    let lease = SourceLease::new();
    loop {
        let (state, check) = match (
            ingest.store().source_state(&id).await,
            websub.next_check(&id).await,
        ) {
            (Ok(state), Ok(check)) => (state, check),
            (Err(e), _) => {
                tracing::warn!(source = %id, error = %e, "could not read the feed's state; retrying in 30s");
                if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                    break;
                }
                continue;
            }
            (_, Err(e)) => {
                tracing::warn!(source = %id, error = %e, "could not read the WebSub state; retrying in 30s");
                if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                    break;
                }
                continue;
            }
        };
        let now = ingest.now_ms();
        let poll_at = state.next_poll.unwrap_or(now);
        let check_at = check.unwrap_or(now);
        let wait = poll_at.min(check_at).saturating_sub(now).max(0);
        if sleep_or_cancel(Duration::from_millis(wait as u64), &shutdown).await {
            break;
        }
        let now = ingest.now_ms();
        if poll_at <= now {
            // Under the source's lease: one replica polls it at a time.
            let (src, ing) = (&source, &ingest);
            let report = match lease
                .turn(&ingest, &id, &shutdown, move |token| async move {
                    poll_cycle(src, ing, &token).await
                })
                .await
            {
                Turn::Polled(report) => report,
                Turn::Again => continue,
                Turn::Stop => break,
            };
            match report {
                Ok(PollReport::Cancelled) if shutdown.is_cancelled() => break,
                Ok(PollReport::Cancelled) => {}
                Ok(PollReport::Polled { .. }) => {
                    if let Err(e) = websub.after_poll(&id).await {
                        tracing::warn!(source = %id, error = %e, "could not stretch the poll interval");
                    }
                }
                Ok(PollReport::Failed { .. }) => {}
                Err(e) => {
                    tracing::warn!(source = %id, error = %e, "could not save the feed's state");
                    if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                        break;
                    }
                }
            }
        }
        if check_at <= now {
            // Under a lease too: replicas renewing one subscription at once would each send
            // the hub a new secret, and pushes signed with the loser's would be refused.
            let (ws, ing, sid) = (&websub, &ingest, &id);
            let leased = lease
                .with_lease(
                    &ingest,
                    &super::state::record_id(&id),
                    &shutdown,
                    move |token| async move {
                        // Read under the lease: another replica may have renewed it just before.
                        if let Ok(Some(at)) = ws.next_check(sid).await
                            && at > ing.now_ms()
                        {
                            return None;
                        }
                        tokio::select! {
                            _ = token.cancelled() => None,
                            r = ws.maintain(sid) => Some(r),
                        }
                    },
                )
                .await;
            if shutdown.is_cancelled() {
                break;
            }
            let upkeep = match leased {
                Ok(Some(Some(upkeep))) => upkeep,
                // Not due any more, or the lease was lost: look again.
                Ok(Some(None)) => continue,
                Ok(None) => {
                    if sleep_or_cancel(SourceLease::busy_wait(), &shutdown).await {
                        break;
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(source = %id, error = %e, "could not take the WebSub lease; retrying in 30s");
                    if sleep_or_cancel(Duration::from_secs(30), &shutdown).await {
                        break;
                    }
                    continue;
                }
            };
            match upkeep {
                Ok(_) => {
                    // A fresh subscription (or renewal) may already be verified: apply the slow
                    // fallback schedule right away.
                    if let Err(e) = websub.after_poll(&id).await {
                        tracing::warn!(source = %id, error = %e, "could not stretch the poll interval");
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %id, error = %e, "WebSub upkeep failed");
                    // maintain records its next check on failure; a store failure does not.
                    if matches!(e, super::WebSubError::Store(_))
                        && sleep_or_cancel(Duration::from_secs(30), &shutdown).await
                    {
                        break;
                    }
                }
            }
        }
    }
    tracing::info!(source = %id, "feed poller stopped");
}
