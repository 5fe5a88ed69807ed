//! How a job attempt's failure is classified and written back: rate limits wait without using
//! an attempt, ambiguous creates become `unknown`, undecided reconciles wait `unknown`,
//! permanent errors go to the dead letter. Also the account records those failures update.

use std::time::Duration;

use super::{Engine, Failure, SPAM_PAUSE, SyncEvent};
use crate::pinterest::ApiError;
use crate::store::{Attempt, Lease, LeaseOutcome, Millis, StoreResult};
use crate::sync::account::AccountRuntime;
use crate::sync::boards::ResolveError;
use crate::sync::quota;

impl Engine {
    pub(super) async fn classify_resolve(
        &self,
        account: &AccountRuntime,
        error: ResolveError,
    ) -> Failure {
        match error {
            ResolveError::Api(e) => self.classify(account, e, false).await,
            other => Failure::Permanent {
                error: other.to_string(),
            },
        }
    }

    /// Sort an API error into a failure kind. `create` is true for the Pin create itself,
    /// where an unclear outcome must be reconciled.
    pub(super) async fn classify(
        &self,
        account: &AccountRuntime,
        error: ApiError,
        create: bool,
    ) -> Failure {
        let now = self.clock.now_ms();
        let message = error.to_string();
        match &error {
            ApiError::RateLimited {
                retry_after, spam, ..
            } => {
                // Without Retry-After, wait a minute: the write quota is per minute. A spam
                // block is not a quota: pause the account for at least an hour.
                let mut wait = retry_after.unwrap_or(Duration::from_secs(60));
                if *spam {
                    wait = wait.max(SPAM_PAUSE);
                }
                metrics::counter!("pinbridge_rate_limit_waits_total", "account" => account.name.clone(), "kind" => "429")
                    .increment(1);
                let until = now + wait.as_millis() as i64;
                account.block_until(until);
                account.slow_down();
                let problem = spam.then(|| {
                    format!(
                        "paused until {}: Pinterest flagged the account's Pins as spam: {message}",
                        httpdate::fmt_http_date(
                            std::time::UNIX_EPOCH + Duration::from_millis(until.max(0) as u64)
                        )
                    )
                });
                if let Some(p) = &problem {
                    account.set_problem(Some(p.clone()));
                    tracing::warn!(account = %account.name, problem = %p, "The account is paused.");
                }
                self.persist_block(account, until, problem).await;
                Failure::Wait {
                    at: until,
                    error: message,
                }
            }
            ApiError::Unauthorized { .. } | ApiError::Auth(_) => {
                let until = now + 5 * 60_000;
                let problem = format!(
                    "needs `pinbridge auth --account {}`: {message}",
                    account.name
                );
                if account.set_problem(Some(problem.clone())) {
                    tracing::error!(account = %account.name, problem = %problem, "The account cannot work; its jobs wait.");
                }
                self.persist_problem(account, Some(problem)).await;
                Failure::Wait {
                    at: until,
                    error: message,
                }
            }
            ApiError::NotFound { .. } => {
                // The board or section may have been deleted: look names up again next time.
                account.boards.invalidate().await;
                Failure::Permanent { error: message }
            }
            ApiError::Forbidden { .. } | ApiError::Rejected { .. } => {
                Failure::Permanent { error: message }
            }
            _ if create && error.maybe_applied() => Failure::Ambiguous { error: message },
            _ if error.is_transient() => Failure::Transient {
                error: message,
                retry_after: None,
            },
            _ => Failure::Permanent { error: message },
        }
    }

    pub(super) async fn persist_block(
        &self,
        account: &AccountRuntime,
        until: Millis,
        problem: Option<String>,
    ) {
        quota::share_block(self.store.as_ref(), account, until).await;
        let result = self
            .store
            .update_account_state(
                &account.name,
                Box::new(move |state| {
                    state.blocked_until = Some(state.blocked_until.unwrap_or(0).max(until));
                    if problem.is_some() {
                        state.problem.clone_from(&problem);
                    }
                }),
            )
            .await;
        if let Err(e) = result {
            tracing::error!(account = %account.name, error = %e, "Could not persist the rate-limit block.");
        }
    }

    /// Set (or with `None` clear) the account's problem in its store record.
    pub(super) async fn persist_problem(&self, account: &AccountRuntime, problem: Option<String>) {
        account.set_problem(problem.clone());
        let result = self
            .store
            .update_account_state(
                &account.name,
                Box::new(move |state| state.problem.clone_from(&problem)),
            )
            .await;
        if let Err(e) = result {
            tracing::error!(account = %account.name, error = %e, "Could not persist the account problem.");
        }
    }

    /// Record today's Pin count, so a restart keeps counting against the daily cap.
    pub(super) async fn persist_day(&self, account: &AccountRuntime, day: i64, sent: u32) {
        let result = self
            .store
            .update_account_state(
                &account.name,
                Box::new(move |state| {
                    // Never back: a count from another task or replica may be ahead.
                    if state.day.is_some_and(|d| d > day)
                        || (state.day == Some(day) && state.day_pins >= sent)
                    {
                        return;
                    }
                    state.day = Some(day);
                    state.day_pins = sent;
                }),
            )
            .await;
        if let Err(e) = result {
            tracing::error!(account = %account.name, error = %e, "Could not persist the daily Pin count.");
        }
    }

    /// Write a failure back to the store.
    pub(super) async fn fail(
        &self,
        lease: &Lease,
        failure: Failure,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        let job = lease.job.id.to_string();
        match failure {
            Failure::Wait { at, error } => {
                self.store
                    .retry(lease, at, &error, Attempt::Free, now)
                    .await
            }
            Failure::Ambiguous { error } => {
                // Never dead-lettered from here, even on the last attempt: the Pin may exist.
                // The reconcile at the next claim decides (see `attempt`).
                let attempts = lease.job.attempts + 1;
                let delay = self
                    .settings
                    .backoff
                    .delay(attempts, &mut rand::rng())
                    .max(self.settings.settle);
                let at = now + delay.as_millis() as i64;
                tracing::warn!(job = %job, error = %error, retry_in = ?delay, "Create outcome unknown; the board will be checked before trying again.");
                self.store.mark_unknown(lease, &error, at, now).await
            }
            Failure::Undecided { error } => {
                // Free: the budget ran out, nothing failed. The lease is a reconcile lease, so
                // `retry` keeps the job `unknown` and the next claim reconciles again.
                let delay = self
                    .settings
                    .backoff
                    .delay(lease.job.attempts.max(1), &mut rand::rng())
                    .max(self.settings.settle);
                let at = now + delay.as_millis() as i64;
                metrics::counter!("pinbridge_reconcile_undecided_total", "account" => lease.job.target.account.clone())
                    .increment(1);
                tracing::warn!(job = %job, error = %error, retry_in = ?delay, "Reconcile undecided; the job stays unknown and the board is checked again later.");
                let error = format!("{error}; looking again later (not creating it again)");
                self.store
                    .retry(lease, at, &error, Attempt::Free, now)
                    .await
            }
            Failure::Transient { error, retry_after } => {
                let attempts = lease.job.attempts + 1;
                if attempts >= self.settings.max_attempts {
                    return self
                        .bury(
                            lease,
                            &format!("gave up after {attempts} attempts: {error}"),
                            now,
                        )
                        .await;
                }
                let mut delay = self.settings.backoff.delay(attempts, &mut rand::rng());
                if let Some(after) = retry_after {
                    delay = delay.max(after);
                }
                let at = now + delay.as_millis() as i64;
                tracing::warn!(job = %job, error = %error, retry_in = ?delay, "Pin creation failed; will retry.");
                let _ = self.events.send(SyncEvent::Retrying {
                    job,
                    at,
                    error: error.clone(),
                });
                self.store
                    .retry(lease, at, &error, Attempt::Counts, now)
                    .await
            }
            Failure::Permanent { error } => self.bury(lease, &error, now).await,
        }
    }

    pub(super) async fn bury(
        &self,
        lease: &Lease,
        error: &str,
        now: Millis,
    ) -> StoreResult<LeaseOutcome> {
        tracing::error!(job = %lease.job.id, error = %error, "Job moved to the dead letter.");
        let _ = self.events.send(SyncEvent::Dead {
            job: lease.job.id.to_string(),
            error: error.to_string(),
        });
        self.store.dead(lease, error, now).await
    }
}
