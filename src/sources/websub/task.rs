//! A feed's task when WebSub is available: the polling base's loop running the feed's cycle,
//! plus subscription upkeep on its own clock, and the slow fallback schedule while pushes
//! arrive.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::WebSub;
use crate::ingest::Ingest;
use crate::ingest::context::SourceContext;
use crate::item::SourceId;
use crate::shutdown::sleep_or_cancel;
use crate::sources::feed::FeedSource;
use crate::sources::poll::lease::SourceLease;
use crate::sources::poll::{Next, PollReport, Poller, UpkeepUnreadable, run_loop};
use crate::store::{Millis, StoreError};

/// Poll `source` and keep its subscription alive until `shutdown`.
pub async fn run(
    source: FeedSource,
    ingest: Ingest,
    websub: Arc<WebSub>,
    shutdown: CancellationToken,
) {
    let id = source.id().clone();
    tracing::info!(source = %id, url = %source.display_url(), "Feed poller started (WebSub enabled).");
    // A secret an older build (or a run without token keys) stored in plain text is sealed now.
    match websub.seal_stored_secret(&id).await {
        Ok(true) => {
            tracing::info!(source = %id, "WebSub: the stored subscription secret is now sealed.")
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(source = %id, error = %e, "WebSub: could not seal the stored secret.")
        }
    }
    let subscribed = Subscribed { source, websub };
    run_loop(&subscribed, &ingest.context(), &shutdown).await;
    tracing::info!(source = %id, "Feed poller stopped.");
}

/// A feed polled as usual whose subscription is kept alive between polls.
struct Subscribed {
    source: FeedSource,
    websub: Arc<WebSub>,
}

impl Poller for Subscribed {
    fn id(&self) -> &SourceId {
        self.source.id()
    }

    fn noun(&self) -> &'static str {
        "feed"
    }

    async fn poll_cycle(
        &self,
        ctx: &SourceContext,
        shutdown: &CancellationToken,
    ) -> Result<PollReport, StoreError> {
        // The feed's own cycle; its metrics are counted only by a plain feed's loop.
        self.source.poll_cycle(ctx, shutdown).await
    }

    async fn after_poll(&self, report: &Result<PollReport, StoreError>) {
        if matches!(report, Ok(PollReport::Polled { .. }))
            && let Err(e) = self.websub.after_poll(self.id()).await
        {
            tracing::warn!(source = %self.id(), error = %e, "Could not stretch the poll interval.");
        }
    }

    async fn upkeep_due(&self) -> Result<Option<Millis>, UpkeepUnreadable> {
        match self.websub.next_check(self.id()).await {
            // No check recorded yet: due now.
            Ok(check) => Ok(Some(check.unwrap_or_else(|| self.websub.now()))),
            Err(e) => {
                tracing::warn!(source = %self.id(), error = %e, "Could not read the WebSub state; retrying in 30s.");
                Err(UpkeepUnreadable)
            }
        }
    }

    async fn upkeep(
        &self,
        lease: &SourceLease,
        ctx: &SourceContext,
        shutdown: &CancellationToken,
    ) -> Next {
        let (ws, id) = (&self.websub, self.id());
        // Under a lease too: replicas renewing one subscription at once would each send
        // the hub a new secret, and pushes signed with the loser's would be refused.
        let leased = lease
            .with_lease(
                ctx,
                &super::state::record_id(id),
                shutdown,
                move |token| async move {
                    // Read under the lease: another replica may have renewed it just before.
                    if let Ok(Some(at)) = ws.next_check(id).await
                        && at > ctx.now_ms()
                    {
                        return None;
                    }
                    tokio::select! {
                        _ = token.cancelled() => None,
                        r = ws.maintain(id) => Some(r),
                    }
                },
            )
            .await;
        if shutdown.is_cancelled() {
            return Next::Stop;
        }
        let upkeep = match leased {
            Ok(Some(Some(upkeep))) => upkeep,
            // Not due any more, or the lease was lost: look again.
            Ok(Some(None)) => return Next::Continue,
            Ok(None) => return pause(SourceLease::busy_wait(), shutdown).await,
            Err(e) => {
                tracing::warn!(source = %id, error = %e, "Could not take the WebSub lease; retrying in 30s.");
                return pause(Duration::from_secs(30), shutdown).await;
            }
        };
        match upkeep {
            Ok(_) => {
                // A fresh subscription (or renewal) may already be verified: apply the slow
                // fallback schedule right away.
                if let Err(e) = ws.after_poll(id).await {
                    tracing::warn!(source = %id, error = %e, "Could not stretch the poll interval.");
                }
            }
            Err(e) => {
                tracing::warn!(source = %id, error = %e, "WebSub upkeep failed.");
                // maintain records its next check on failure; a store failure does not.
                if matches!(e, super::WebSubError::Store(_)) {
                    return pause(Duration::from_secs(30), shutdown).await;
                }
            }
        }
        Next::Continue
    }
}

/// Wait `wait` before the loop looks again, unless shutdown comes first.
async fn pause(wait: Duration, shutdown: &CancellationToken) -> Next {
    if sleep_or_cancel(wait, shutdown).await {
        Next::Stop
    } else {
        Next::Continue
    }
}
