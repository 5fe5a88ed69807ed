//! The HTTP server: inbound webhooks, health, Prometheus metrics, the admin API (`/api/v1`)
//! and the status page.
//!
//! Two surfaces. The public one (webhooks, WebSub callbacks, `/healthz`, a bare `/readyz`)
//! must face the internet. The private one (status page, metrics, readiness details, admin
//! API) shows source ids, feed URLs, errors and board names: it needs the admin token (or a
//! status-page session), or is served only on `server.admin_listen` ([`admin_router`]).
//!
//! Every request gets an `x-request-id` (kept if the caller sent one) that appears in the
//! request's log span, and one log line per answer (status, duration); `Authorization` and
//! signature headers are marked sensitive so they never reach a log line.

pub mod admin;
pub mod analytics;
pub mod auth;
pub mod connect;
pub mod health;
pub mod metrics;
pub mod readiness;
pub mod recent_analytics;
mod request_log;
pub mod serve;
pub mod session;
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
    /// `paused`, `parked` (polled slowly after many errors), `failing` or `ok`.
    pub fn health(&self, polled: &crate::store::SourceState) -> &'static str {
        if self.paused {
            "paused"
        } else if polled.parked.is_some() {
            "parked"
        } else if polled.error_count > 0 {
            "failing"
        } else {
            "ok"
        }
    }
}

/// A configured account's limits as the status page shows them against its use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLimits {
    /// `writes_per_minute`: Pinterest's write quota for the account.
    pub writes_per_minute: u32,
    /// `daily_cap`: at most this many Pins a day.
    pub daily_cap: u32,
    /// An access or refresh token is set in the configuration.
    pub configured_token: bool,
}

impl AccountLimits {
    /// The limits of every configured account, by name.
    pub fn of(
        accounts: &[crate::settings::AccountConfig],
    ) -> std::collections::HashMap<String, AccountLimits> {
        accounts
            .iter()
            .map(|a| {
                let limits = AccountLimits {
                    writes_per_minute: a.writes_per_minute,
                    daily_cap: a.daily_cap,
                    configured_token: a.access_token.is_some() || a.refresh_token.is_some(),
                };
                (a.name.clone(), limits)
            })
            .collect()
    }
}

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub store: Arc<dyn Store>,
    /// Set while shutting down: readiness fails so load balancers stop sending traffic.
    pub draining: tokio_util::sync::CancellationToken,
    pub clock: SharedClock,
    /// The configured account names (readiness details, the status page and metrics report them).
    pub accounts: Arc<Vec<String>>,
    /// Each configured account's quota, daily cap and whether the config holds a token (the
    /// status page; an account missing here is shown without limits).
    pub account_limits: Arc<std::collections::HashMap<String, AccountLimits>>,
    /// The backlog over the last day, sampled for the status page's chart.
    pub backlog: Arc<status::BacklogHistory>,
    /// What retention keeps and what its last run did (the status page).
    pub retention: Arc<status::RetentionStatus>,
    /// The last 30 days of Pin analytics by source, kept for the status page and the gauges
    /// (`recent_analytics.rs`).
    pub recent_analytics: Arc<recent_analytics::RecentAnalytics>,
    pub sources: Arc<Vec<SourceInfo>>,
    /// `server.admin_token`, hashed; the admin API answers 403 without it.
    pub admin: Option<Arc<AdminToken>>,
    /// The Prometheus exporter, when metrics are on.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The live configuration: runtime sources and routes, reload status. When set, it is the
    /// source list in force (`sources` is only the list of a service without it).
    pub live: Option<Arc<crate::live::Live>>,
    /// `server.public_url`: a browser request's Origin may be this; https makes cookies Secure.
    pub public_url: Option<url::Url>,
    /// Signed-in status-page sessions.
    pub sessions: Arc<session::Sessions>,
    /// Failed status-page sign-ins per client address.
    pub logins: Arc<session::LoginThrottle>,
    /// Which listener this router serves (decides who sees metrics and readiness details).
    pub listener: Listener,
    /// What "Connect Pinterest account" needs (app credentials, vault, accounts); `None` in
    /// servers built without it.
    pub connect: Option<Arc<connect::Connect>>,
}

/// The listener a router serves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Listener {
    /// `server.listen` without an admin listener: everything, the private parts behind the
    /// admin token.
    #[default]
    Combined,
    /// `server.listen` beside an admin listener: webhooks and health only, readiness bare even
    /// for the admin.
    Public,
    /// `server.admin_listen`: the network already restricts who reaches it, so metrics and
    /// readiness details need no token there (the admin API still does).
    Admin,
}

impl HttpState {
    /// A state with no accounts, sources, admin token or metrics (tests add what they need).
    pub fn new(store: Arc<dyn Store>, clock: SharedClock) -> Self {
        Self {
            store,
            draining: tokio_util::sync::CancellationToken::new(),
            clock,
            accounts: Arc::new(Vec::new()),
            account_limits: Arc::new(std::collections::HashMap::new()),
            backlog: Arc::new(status::BacklogHistory::default()),
            retention: Arc::new(status::RetentionStatus::default()),
            recent_analytics: Arc::default(),
            sources: Arc::new(Vec::new()),
            admin: None,
            metrics: None,
            live: None,
            public_url: None,
            sessions: Arc::new(session::Sessions::default()),
            logins: Arc::new(session::LoginThrottle::default()),
            listener: Listener::Combined,
            connect: None,
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

/// One port for everything: webhooks and health in the open, the private surface behind the
/// admin token. What `serve` runs without `server.admin_listen`.
pub fn router(state: HttpState, hooks: Router) -> Router {
    layered(
        Router::new()
            .merge(public_routes(state.clone(), hooks))
            .merge(private_routes(state)),
    )
}

/// The public port when `server.admin_listen` is set: webhooks, WebSub callbacks, `/healthz`
/// and a bare `/readyz`, nothing else.
pub fn public_router(mut state: HttpState, hooks: Router) -> Router {
    state.listener = Listener::Public;
    layered(public_routes(state, hooks))
}

/// The `server.admin_listen` port: status page, metrics, readiness with details, admin API,
/// and the OAuth callback too (`server.public_url` may name either port).
pub fn admin_router(mut state: HttpState) -> Router {
    state.listener = Listener::Admin;
    layered(
        Router::new()
            .merge(health::router(state.clone()))
            .merge(connect::callback_router(state.clone()))
            .merge(private_routes(state)),
    )
}

fn public_routes(state: HttpState, hooks: Router) -> Router {
    Router::new()
        .merge(health::router(state.clone()))
        .merge(connect::callback_router(state))
        .merge(hooks)
}

fn private_routes(state: HttpState) -> Router {
    Router::new()
        .merge(metrics::router(state.clone()))
        .merge(status::router(state.clone()))
        .merge(connect::ui_router(state.clone()))
        .nest("/api/v1", admin::router(state))
}

fn layered(router: Router) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let path = crate::redact::callback_path(request.uri().path());
            tracing::info_span!("http", method = %request.method(), path = %path, request_id = %id)
        })
        .on_response(request_log::log_response);
    router
        // Outermost first: id set, secrets hidden, then traced, id echoed in the answer,
        // probe answers tagged so their log line stays at debug.
        .layer(axum::middleware::from_fn(request_log::mark_probes))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetSensitiveRequestHeadersLayer::new(sensitive_headers()))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
