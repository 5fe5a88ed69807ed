//! How a job attempt's failure is carried out and written back: rate limits block the account
//! and wait without using an attempt, ambiguous creates become `unknown`, undecided reconciles
//! wait `unknown`, permanent errors go to the dead letter. Which class an error is in is decided
//! in `classify.rs`.

use std::time::Duration;

use super::classify::{ATTENTION_WAIT, AttemptContext, Class, classify};
use super::{Engine, SyncEvent};
use crate::pinterest::ApiError;
use crate::store::{Attempt, Lease, LeaseOutcome, Millis, StoreResult};
use crate::sync::account::AccountRuntime;
use crate::sync::boards::ResolveError;

/// A classified failure.
pub(super) enum Failure {
    /// Try later without using up an attempt (rate limit, account waiting for auth or held).
    Wait { at: Millis, error: String },
    /// A real failure: try again with backoff, or dead-letter after `max_attempts`.
    Transient {
        error: String,
        retry_after: Option<Duration>,
    },
    /// The create may have been applied: reconcile before trying again.
    Ambiguous { error: String },
    /// A reconcile ran out of budget before it could tell: stay `unknown` and look again later,
    /// never create on a guess.
    Undecided { error: String },
    /// Will not succeed by repeating: dead letter.
    Permanent { error: String },
}

impl Engine {
    /// A board or section lookup that failed: API errors are classified as any other, a board
    /// that does not exist (and may not be created) is permanent. A board that may be secret
    /// and invisible to the token is the account's problem: it is held until reconnected.
    pub(super) async fn classify_resolve_error(
        &self,
        account: &AccountRuntime,
        route: &str,
        error: ResolveError,
    ) -> Failure {
        match error {
            ResolveError::Api(e) => self.classify_api_error(account, e, false).await,
            ResolveError::MaybeSecret { .. } => {
                let error = format!("needs attention: route `{route}`: {error}");
                self.hold_account(account, error.clone()).await;
                let at = self.clock.now_ms() + ATTENTION_WAIT.as_millis() as i64;
                Failure::Wait { at, error }
            }
            other => Failure::Permanent {
                error: other.to_string(),
            },
        }
    }

    /// Sort an API error into a failure kind and carry out what its class asks of the account
    /// (block, problem, forgetting board names). `create` is true for the Pin create itself,
    /// where an unclear outcome must be reconciled.
    pub(super) async fn classify_api_error(
        &self,
        account: &AccountRuntime,
        error: ApiError,
        create: bool,
    ) -> Failure {
        let signals = self.account_signals(account, &error).await;
        let context = AttemptContext {
            account: &account.name,
            now: self.clock.now_ms(),
            create,
            signals: signals.borrow(),
        };
        match classify(&error, context) {
            Class::BlockAccount {
                until,
                problem,
                error,
            } => {
                metrics::counter!("pinbridge_rate_limit_waits_total", "account" => account.name.clone(), "kind" => "429")
                    .increment(1);
                account.block_until(until);
                account.slow_down();
                if let Some(p) = &problem {
                    account.set_problem(Some(p.clone()));
                    tracing::warn!(account = %account.name, problem = %p, "The account is paused.");
                }
                self.persist_block(account, until, problem).await;
                Failure::Wait { at: until, error }
            }
            Class::NeedsAuth {
                until,
                problem,
                error,
            } => {
                if account.set_problem(Some(problem.clone())) {
                    tracing::error!(account = %account.name, problem = %problem, "The account cannot work; its jobs wait.");
                }
                self.persist_problem(account, Some(problem)).await;
                Failure::Wait { at: until, error }
            }
            Class::NeedsAttention {
                until,
                problem,
                error,
            } => {
                self.hold_account(account, problem).await;
                Failure::Wait { at: until, error }
            }
            Class::BoardGone { error } => {
                // The board or section may have been deleted: look names up again next time.
                account.boards.invalidate().await;
                Failure::Permanent { error }
            }
            Class::Dead { error } => Failure::Permanent { error },
            Class::Unknown { error } => Failure::Ambiguous { error },
            Class::Retry { error } => Failure::Transient {
                error,
                retry_after: None,
            },
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
                tracing::warn!(job = %job, kind = lease.job.kind.name(), error = %error, retry_in = ?delay, "Pinterest call failed; will retry.");
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
