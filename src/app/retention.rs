//! Retention in the running service: every `[store] retention_every`, drop the webhook
//! delivery ids whose horizon passed and, with `[store] keep_payloads`, walk the store in small
//! pages compacting what is older than the horizon (`Retention::compact`; what is kept is
//! `store::retention`'s rule). Each page is its own short store call and the task yields
//! between pages, so ingest never waits on it; it stops at the next page after shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::http::status::{RetentionRun, RetentionStatus};
use crate::store::retention::CompactedCounts;
use crate::store::{Store, StoreResult};

/// Items looked at per `compact` call: small enough that one call is a few milliseconds.
pub const PAGE: usize = 200;

/// Run retention every `every` until `shutdown`, recording each run in `status`.
pub async fn run(
    store: Arc<dyn Store>,
    clock: SharedClock,
    every: Duration,
    status: Arc<RetentionStatus>,
    shutdown: CancellationToken,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticks.tick() => {}
        }
        match once(store.as_ref(), &clock, status.keep_payloads(), &shutdown).await {
            Ok(run) => {
                if run.compacted.items + run.compacted.jobs > 0 {
                    tracing::info!(
                        items = run.compacted.items,
                        jobs = run.compacted.jobs,
                        deliveries = run.deliveries,
                        "Retention compacted old payloads."
                    );
                }
                status.record(run);
            }
            Err(e) => tracing::warn!(error = %e, "Retention failed; will try again."),
        }
    }
}

/// One run: expired delivery ids, then (with a horizon) one walk over every item.
pub async fn once(
    store: &dyn Store,
    clock: &SharedClock,
    keep_payloads: Option<Duration>,
    shutdown: &CancellationToken,
) -> StoreResult<RetentionRun> {
    let now = clock.now_ms();
    let deliveries = store.purge_deliveries(now).await?;
    metrics::counter!("pinbridge_store_deliveries_expired_total").increment(deliveries);
    let mut run = RetentionRun {
        at: now,
        compacted: CompactedCounts::default(),
        deliveries,
        complete: true,
    };
    let Some(keep) = keep_payloads else {
        return Ok(run);
    };
    let older_than = now.saturating_sub(i64::try_from(keep.as_millis()).unwrap_or(i64::MAX));
    let mut after = None;
    loop {
        if shutdown.is_cancelled() {
            run.complete = false;
            return Ok(run);
        }
        let page = store.compact(after, older_than, PAGE, now).await?;
        metrics::counter!("pinbridge_store_compacted_total", "kind" => "item")
            .increment(page.items);
        metrics::counter!("pinbridge_store_compacted_total", "kind" => "job").increment(page.jobs);
        run.compacted.add(&page);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(run),
        }
        // Let ingest and the engine run between pages.
        tokio::task::yield_now().await;
    }
}
