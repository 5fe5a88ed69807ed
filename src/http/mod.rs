//! The HTTP server: inbound webhooks, health, Prometheus metrics, the admin API (`/api/v1`)
//! and the status page.
//!
//! Every request gets an `x-request-id` (kept if the caller sent one) that appears in the
//! request's log span; `Authorization` and signature headers are marked sensitive so they never
//! reach a log line.

pub mod admin;
pub mod health;
pub mod metrics;
pub mod status;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, Request, header};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;

use crate::clock::SharedClock;
use crate::store::Store;

pub use admin::AdminToken;

/// A configured source as the admin API and status page show it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SourceInfo {
    pub id: String,
    pub kind: String,
    pub paused: bool,
}

impl SourceInfo {
    /// The source and its polling state as `GET /api/v1/sources` lists it.
    pub fn json(&self, polled: &crate::store::SourceState) -> serde_json::Value {
        let state = if self.paused {
            "paused"
        } else if polled.parked.is_some() {
            "parked"
        } else if polled.error_count > 0 {
            "failing"
        } else {
            "ok"
        };
        serde_json::json!({
            "id": self.id,
            "kind": self.kind,
            "paused": self.paused,
            "state": state,
            "last_poll": polled.last_poll,
            "next_poll": polled.next_poll,
            "last_success": polled.last_success,
            "error_count": polled.error_count,
            "last_error": polled.last_error,
            "parked": polled.parked,
        })
    }
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub store: Arc<dyn Store>,
    /// Set while shutting down: readiness fails so load balancers stop sending traffic.
    pub draining: tokio_util::sync::CancellationToken,
    pub clock: SharedClock,
    /// The configured account names (readiness needs one usable account).
    pub accounts: Arc<Vec<String>>,
    pub sources: Arc<Vec<SourceInfo>>,
    /// `server.admin_token`, hashed; the admin API answers 403 without it.
    pub admin: Option<Arc<AdminToken>>,
    /// The Prometheus exporter, when metrics are on.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The live configuration: runtime sources and routes, reload status. When set, it is the
    /// source list in force (`sources` is only the list of a service without it).
    pub live: Option<Arc<crate::live::Live>>,
}

impl HttpState {
    /// A state with no accounts, sources, admin token or metrics (tests add what they need).
    pub fn new(store: Arc<dyn Store>, clock: SharedClock) -> Self {
        Self {
            store,
            draining: tokio_util::sync::CancellationToken::new(),
            clock,
            accounts: Arc::new(Vec::new()),
            sources: Arc::new(Vec::new()),
            admin: None,
            metrics: None,
            live: None,
        }
    }

    /// The sources in force.
    pub fn source_list(&self) -> Arc<Vec<SourceInfo>> {
        match &self.live {
            Some(live) => Arc::new(
                live.view()
                    .sources
                    .iter()
                    .map(|s| SourceInfo {
                        id: s.id.clone(),
                        kind: s.kind.clone(),
                        paused: s.paused,
                    })
                    .collect(),
            ),
            None => self.sources.clone(),
        }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Headers whose values never reach logs: bearer tokens and webhook signatures.
fn sensitive_headers() -> Vec<HeaderName> {
    [
        "x-shopify-hmac-sha256",
        "x-wc-webhook-signature",
        "x-ghost-signature",
        "x-hub-signature",
        "x-hub-signature-256",
        "stripe-signature",
        "webhook-signature",
        "svix-signature",
        "x-wp-webhook-signature",
        "x-signature",
    ]
    .into_iter()
    .map(HeaderName::from_static)
    .chain([header::AUTHORIZATION, header::COOKIE, header::SET_COOKIE])
    .collect()
}

/// The whole router: webhooks (built by the webhook source) merged with the service routes.
pub fn router(state: HttpState, hooks: Router) -> Router {
    let trace = TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
        let id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("http", method = %request.method(), path = %request.uri().path(), request_id = %id)
    });
    Router::new()
        .merge(health::router(state.clone()))
        .merge(metrics::router(state.clone()))
        .merge(status::router(state.clone()))
        .nest("/api/v1", admin::router(state))
        .merge(hooks)
        // Outermost first: id set, secrets hidden, then traced, id echoed in the answer.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetSensitiveRequestHeadersLayer::new(sensitive_headers()))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
