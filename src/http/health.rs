//! `/healthz` (the process is alive) and `/readyz` (it can take webhooks: store open and
//! writable, not draining). [`ready`] works out the details; who may see them is decided in
//! [`super::readiness`].
//!
//! An account that needs attention (expired authorization, a block by Pinterest) does not make
//! pinbridge unready: webhooks and polls are still stored and wait for the account, whereas an
//! unready pod is taken out of its Service and every webhook would bounce. Account problems are
//! reported in the `/readyz` body, on the status page and as the `pinbridge_account_usable`
//! gauge instead.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::HttpState;
use crate::store::{AccountState, Millis};

/// A rate-limit block longer than this counts as "blocked forever": the account is not usable.
const FOREVER_MS: Millis = 7 * 24 * 3600 * 1000;

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(super::readiness::readyz))
        .with_state(state)
}

/// Why an account cannot make Pins now, or `None` when it can.
pub fn account_problem(state: &AccountState, now: Millis) -> Option<String> {
    if let Some(problem) = &state.problem {
        return Some(problem.clone());
    }
    match state.blocked_until {
        Some(until) if until.saturating_sub(now) > FOREVER_MS => {
            Some("blocked by Pinterest for more than a week".into())
        }
        _ => None,
    }
}

/// One configured account and why it cannot make Pins now (`None`: it can).
#[derive(Clone, Debug)]
pub struct AccountReport {
    pub name: String,
    pub problem: Option<String>,
}

/// Every configured account with its problem, read from the store.
pub async fn account_reports(state: &HttpState) -> Vec<AccountReport> {
    let now = state.clock.now_ms();
    let mut reports = Vec::new();
    for name in state.accounts.iter() {
        let problem = match state.store.account_state(name).await {
            Ok(account) => account_problem(&account, now),
            Err(e) => Some(format!("store: {e}")),
        };
        reports.push(AccountReport {
            name: name.clone(),
            problem,
        });
    }
    reports
}

pub async fn ready(State(state): State<HttpState>) -> (StatusCode, Json<Value>) {
    let draining = state.draining.is_cancelled();
    // Open and answering is enough: readiness must cost the same at any store size.
    let store = match state.store.ping().await {
        Ok(_) => json!({"ok": true}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    };
    let reports = account_reports(&state).await;
    let accounts: Vec<Value> = reports
        .iter()
        .map(|a| json!({"name": a.name, "usable": a.problem.is_none(), "problem": a.problem}))
        .collect();
    let mut reasons = Vec::new();
    if draining {
        reasons.push("draining".to_string());
    }
    if store["ok"] != json!(true) {
        reasons.push("store unavailable".into());
    }
    // A failed flush to disk: nothing may be acknowledged until a restart (reads still work).
    if let Some(reason) = state.store.write_failure() {
        reasons.push(reason);
    }
    // Shown, never blocking: see the module documentation.
    let mut attention = Vec::new();
    if reports.iter().all(|a| a.problem.is_some()) {
        attention.push("no usable Pinterest account: Pins wait until one is connected".to_string());
    }
    let ready = reasons.is_empty();
    // A refused reload does not make the service unready (the previous configuration is still
    // serving), but it is shown here for whoever looks.
    let config = state.live.as_ref().map(|live| live.status_json());
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "reasons": reasons,
            "attention": attention,
            "draining": draining,
            "store": store,
            "accounts": accounts,
            "config": config,
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_with_a_problem_or_an_endless_block_is_not_usable() {
        let now = 1_000_000;
        assert_eq!(account_problem(&AccountState::default(), now), None);
        let blocked = AccountState {
            blocked_until: Some(now + 60_000),
            ..Default::default()
        };
        assert_eq!(account_problem(&blocked, now), None);
        let forever = AccountState {
            blocked_until: Some(i64::MAX),
            ..Default::default()
        };
        assert!(account_problem(&forever, now).is_some());
        let problem = AccountState {
            problem: Some("needs `pinbridge auth`".into()),
            ..Default::default()
        };
        assert_eq!(
            account_problem(&problem, now).as_deref(),
            Some("needs `pinbridge auth`")
        );
    }
}
