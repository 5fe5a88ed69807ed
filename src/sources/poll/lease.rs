//! One replica polls a source at a time.
//!
//! Feed and shop pollers run every poll under the source's lease in the store: take it, read
//! the schedule again under it (another replica may just have polled), poll, save the state,
//! give it back. While the poll runs the lease is renewed; if it is lost anyway (this process
//! stalled past it), the poll is cancelled before it writes, so two replicas never both
//! advance one source.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::ingest::context::SourceContext;
use crate::item::SourceId;
use crate::store::{Millis, StoreError};

/// How long a lease runs without renewal: a replica killed mid-poll holds its sources this
/// long at most.
pub const SOURCE_LEASE: Duration = Duration::from_secs(60);
/// How often a running poll renews its lease.
const RENEW_EVERY: Duration = Duration::from_secs(20);

/// What [`SourceLease::poll_if_due`] did.
#[derive(Debug)]
pub enum Leased<T> {
    /// The poll ran under the lease.
    Polled(T),
    /// Another replica holds the lease: look again a little later.
    Busy,
    /// Under the lease the schedule says the source is not due (another replica polled it).
    NotDue,
}

/// What a poller loop does after [`SourceLease::turn`].
#[derive(Debug)]
pub enum Turn<T> {
    /// The poll ran under the lease; this is its result.
    Polled(T),
    /// Not due after all, or another replica is polling: look at the schedule again.
    Again,
    /// Shutting down.
    Stop,
}

/// One poller task's identity as a lease holder.
pub struct SourceLease {
    holder: String,
}

impl Default for SourceLease {
    fn default() -> Self {
        Self::new()
    }
}

impl SourceLease {
    pub fn new() -> Self {
        Self {
            holder: format!("{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
        }
    }

    /// How long to wait before trying again when the lease is busy.
    pub fn busy_wait() -> Duration {
        Duration::from_secs(5)
    }

    /// Run `poll` under `source`'s lease if its `next_poll` has come. `poll` gets a token that
    /// is cancelled on shutdown or when the lease is lost.
    pub async fn poll_if_due<T, F, Fut>(
        &self,
        ctx: &SourceContext,
        source: &SourceId,
        shutdown: &CancellationToken,
        poll: F,
    ) -> Result<Leased<T>, StoreError>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = T>,
    {
        let outcome = self
            .with_lease(ctx, source, shutdown, |lost| async move {
                // Read under the lease: another replica may have polled just before.
                let state = ctx.state(source).await?;
                if state.next_poll.is_some_and(|at| at > ctx.now_ms()) {
                    return Ok(Leased::NotDue);
                }
                Ok(Leased::Polled(poll(lost).await))
            })
            .await?;
        outcome.unwrap_or(Ok(Leased::Busy))
    }

    /// One turn of a poller loop: [`Self::poll_if_due`], then a pause of [`Self::busy_wait`]
    /// when another replica holds the lease. A store error comes back as the poll's error.
    pub async fn turn<T, E, F, Fut>(
        &self,
        ctx: &SourceContext,
        source: &SourceId,
        shutdown: &CancellationToken,
        poll: F,
    ) -> Turn<Result<T, E>>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<StoreError>,
    {
        match self.poll_if_due(ctx, source, shutdown, poll).await {
            Ok(Leased::Polled(result)) => Turn::Polled(result),
            Ok(Leased::NotDue) => Turn::Again,
            Ok(Leased::Busy) => {
                if crate::shutdown::sleep_or_cancel(Self::busy_wait(), shutdown).await {
                    Turn::Stop
                } else {
                    Turn::Again
                }
            }
            Err(err) => Turn::Polled(Err(err.into())),
        }
    }

    /// Run `work` holding the lease named `key` (renewed while it runs); `None` when another
    /// holder has it. `work` gets a token cancelled on shutdown or when the lease is lost.
    pub async fn with_lease<T, F, Fut>(
        &self,
        ctx: &SourceContext,
        key: &SourceId,
        shutdown: &CancellationToken,
        work: F,
    ) -> Result<Option<T>, StoreError>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = T>,
    {
        let now = ctx.now_ms();
        let Some(token) = ctx
            .try_lease(key, &self.holder, now + millis(SOURCE_LEASE), now)
            .await?
        else {
            return Ok(None);
        };
        let lost = shutdown.child_token();
        let work = work(lost.clone());
        tokio::pin!(work);
        let mut renew = tokio::time::interval(RENEW_EVERY);
        renew.tick().await;
        let done = loop {
            tokio::select! {
                done = &mut work => break done,
                _ = renew.tick() => {
                    let now = ctx.now_ms();
                    let held = ctx
                        .try_lease(key, &self.holder, now + millis(SOURCE_LEASE), now)
                        .await;
                    if !matches!(held, Ok(Some(t)) if t == token) {
                        tracing::warn!(source = %key, "Lost the source's lease mid-poll; this poll is dropped.");
                        lost.cancel();
                    }
                }
            }
        };
        if let Err(e) = ctx.release_lease(key, token).await {
            // It runs out by itself; another replica waits at most SOURCE_LEASE.
            tracing::warn!(source = %key, error = %e, "Could not release the source's lease.");
        }
        Ok(Some(done))
    }
}

fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 2)
}
