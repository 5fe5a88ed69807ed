//! The HTTP server: inbound webhooks, health, and (later) metrics, admin API and status page.

pub mod health;

use std::sync::Arc;

use axum::Router;
use tower_http::trace::TraceLayer;

use crate::store::Store;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub store: Arc<dyn Store>,
    /// Set while shutting down: readiness fails so load balancers stop sending traffic.
    pub draining: tokio_util::sync::CancellationToken,
}

/// The whole router: webhooks (built by the webhook source) merged with the service routes.
pub fn router(state: HttpState, hooks: Router) -> Router {
    Router::new()
        .merge(health::router(state))
        .merge(hooks)
        .layer(TraceLayer::new_for_http())
}
