//! Holding an account that needs attention: marking it (problem recorded where account problems
//! show, jobs held), keeping its jobs waiting without calling Pinterest or using an attempt, and
//! letting them go once the problem is cleared in the store (`pinbridge auth` clears it, as does
//! an operator) or a create went through.

use super::Engine;
use super::attention::{AccountSignals, same_403_key};
use super::classify::ATTENTION_WAIT;
use super::failure::Failure;
use crate::pinterest::ApiError;
use crate::store::Millis;
use crate::sync::account::AccountRuntime;

/// The account facts the classifier weighs, owned for the length of one classification.
pub(super) struct OwnedSignals {
    granted_scopes: Option<String>,
    same_403_in_a_row: u32,
}

impl OwnedSignals {
    pub fn borrow(&self) -> AccountSignals<'_> {
        AccountSignals {
            granted_scopes: self.granted_scopes.as_deref(),
            same_403_in_a_row: self.same_403_in_a_row,
        }
    }
}

impl Engine {
    /// What the account tells about `error`: the token's granted scopes, and how many jobs in a
    /// row got this same 403 (counted here).
    pub(super) async fn account_signals(
        &self,
        account: &AccountRuntime,
        error: &ApiError,
    ) -> OwnedSignals {
        let refused = matches!(
            error,
            ApiError::Forbidden { .. } | ApiError::Unauthorized { .. }
        );
        let granted_scopes = if refused {
            account.client.tokens().tokens().await.scope
        } else {
            None
        };
        OwnedSignals {
            granted_scopes,
            same_403_in_a_row: same_403_key(error).map_or(0, |key| account.note_403(key)),
        }
    }

    /// Mark the account as needing attention and hold its jobs.
    pub(super) async fn hold_account(&self, account: &AccountRuntime, problem: String) {
        if account.set_hold(Some(problem.clone())) {
            tracing::error!(account = %account.name, problem = %problem, "The account needs attention; its jobs are held until it is fixed.");
            metrics::counter!("pinbridge_account_attention_total", "account" => account.name.clone())
                .increment(1);
            metrics::gauge!("pinbridge_account_held", "account" => account.name.clone()).set(1.0);
        }
        self.persist_problem(account, Some(problem)).await;
    }

    /// Let the account's jobs go again.
    pub(super) fn release_account(&self, account: &AccountRuntime) {
        if account.set_hold(None) {
            tracing::info!(account = %account.name, "The account's problem was cleared; its held jobs go out again.");
            metrics::gauge!("pinbridge_account_held", "account" => account.name.clone()).set(0.0);
        }
    }

    /// For a held account, the wait for this job, unless the problem was cleared in the store
    /// meanwhile (then the hold ends and the job goes ahead to find out).
    pub(super) async fn held_wait(&self, account: &AccountRuntime, now: Millis) -> Option<Failure> {
        let reason = account.held()?;
        let cleared = match self.store.account_state(&account.name).await {
            Ok(state) => state.problem.is_none(),
            Err(e) => {
                tracing::warn!(account = %account.name, error = %e, "Could not read the account record; its jobs stay held.");
                false
            }
        };
        if cleared {
            // Cleared by a connect on another replica: take the tokens it stored, or the job
            // would go out with the ones that got the account held.
            match account.client.tokens().adopt_stored().await {
                Ok(true) => {
                    tracing::info!(account = %account.name, "Using the account's newly stored tokens.")
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(account = %account.name, error = %e, "Could not read the stored tokens; using the current ones.")
                }
            }
            self.release_account(account);
            account.set_problem(None);
            return None;
        }
        Some(Failure::Wait {
            at: now + ATTENTION_WAIT.as_millis() as i64,
            error: format!("held until the account is fixed: {reason}"),
        })
    }
}
