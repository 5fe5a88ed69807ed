//! The account records attempt failures and creates update in the store: rate-limit blocks,
//! problems (needs auth, spam pause) and the day's Pin count, so they survive restarts and
//! other replicas see them.

use super::Engine;
use crate::store::Millis;
use crate::sync::account::AccountRuntime;
use crate::sync::quota;

impl Engine {
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
}
