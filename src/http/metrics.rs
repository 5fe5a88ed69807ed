//! `/metrics`: Prometheus text. Counters and histograms are recorded where things happen
//! (`metrics::counter!` …); gauges that mirror the store (jobs by state, store size) are set
//! from the store's stats at scrape time, so they are never stale; so are the `process_*`
//! figures. The per-source Pin analytics gauges are refreshed by a scrape at most every few
//! minutes (`recent_analytics.rs`). Every metric's `# HELP` text is in `telemetry::metrics_catalog`.
//!
//! Metrics name sources, accounts and routes, so a scrape needs the admin token
//! (`Authorization: Bearer …`) unless it comes through `server.admin_listen`.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::HttpState;

/// Every job state, so a state with no jobs shows 0 instead of vanishing.
const JOB_STATES: [&str; 6] = ["pending", "leased", "retry", "unknown", "done", "dead"];

pub fn router(state: HttpState) -> Router {
    let router = Router::new().route("/metrics", get(render));
    let router = if state.listener == super::Listener::Admin {
        router
    } else {
        router.route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::auth::require_admin,
        ))
    };
    router.with_state(state)
}

async fn render(State(state): State<HttpState>) -> Response {
    let Some(handle) = &state.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are off\n").into_response();
    };
    crate::telemetry::ProcessMetrics::default().collect();
    match state.store.stats().await {
        Ok(stats) => {
            for name in JOB_STATES {
                let count = stats.jobs_by_state.get(name).copied().unwrap_or(0);
                metrics::gauge!("pinbridge_jobs", "state" => name).set(count as f64);
            }
            metrics::gauge!("pinbridge_items").set(stats.items as f64);
            metrics::gauge!("pinbridge_store_quarantined").set(stats.quarantined as f64);
            metrics::gauge!("pinbridge_store_size_bytes").set(stats.size_on_disk as f64);
        }
        Err(e) => tracing::warn!(error = %e, "Store stats unavailable for /metrics."),
    }
    // 0 while an account needs attention: readiness stays up then, so alert on this instead.
    for account in super::health::account_reports(&state).await {
        let usable = if account.problem.is_none() { 1.0 } else { 0.0 };
        metrics::gauge!("pinbridge_account_usable", "account" => account.name).set(usable);
    }
    state.recent_analytics.publish_gauges(&state).await;
    metrics::gauge!("pinbridge_draining").set(if state.draining.is_cancelled() {
        1.0
    } else {
        0.0
    });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}
