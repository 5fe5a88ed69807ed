//! The admin API under `/api/v1`: sources, items, jobs, dead letters, retry and replay, and the
//! runtime configuration (sources and routes made through the API, reload status).
//!
//! Every route except `/openapi.json` and `/docs` (the reference page) needs `Authorization: Bearer <server.admin_token>` (or a
//! status-page session, whose POST/PUT/DELETE must come from pinbridge's own pages). The
//! token is kept only as a SHA-256 digest and compared in constant time; a wrong, empty or
//! missing token gets the same 401 with no hint. Without a configured token the API answers
//! 403.
//! Routes are registered through [`Api::add`], which also records them, so the OpenAPI test
//! can check the router and the generated document list the same routes. Request and answer
//! bodies are types (`answers.rs`, `config_answers.rs`, `poll_preview.rs`) that the document
//! is generated from and that `pinbridge items` and `poll` read back.

mod analytics;
pub mod answers;
pub mod config_answers;
mod config_status;
pub mod docs;
mod error;
mod handlers;
mod jobs;
pub mod openapi;
pub mod poll_preview;
mod records;
mod routes;
mod source_delete;
mod source_import;
pub mod sources;

pub use error::ApiError;
pub use source_delete::CANCELLED;

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware;
use axum::routing::{MethodFilter, get, on};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::HttpState;

/// `server.admin_token`, kept as a digest: the plain token is not held after startup.
pub struct AdminToken {
    digest: [u8; 32],
}

impl AdminToken {
    pub fn new(token: &SecretString) -> Self {
        Self {
            digest: Sha256::digest(token.expose_secret().as_bytes()).into(),
        }
    }

    /// Constant-time check (equal-length digests, so the length of the guess leaks nothing).
    /// An empty value never matches: an unset header or cookie is not a token.
    pub fn matches(&self, presented: &str) -> bool {
        if presented.is_empty() {
            return false;
        }
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }
}

/// A router that remembers what it serves: `(method, path)` as written in the OpenAPI file.
pub struct Api {
    router: Router<HttpState>,
    routes: Vec<(Method, &'static str)>,
}

impl Api {
    fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, handler: H) -> Self
    where
        H: Handler<T, HttpState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        // axum writes path parameters as `{name}`, like OpenAPI.
        self.router = self.router.route(path, on(filter, handler));
        self.routes.push((method, path));
        self
    }
}

/// The authenticated routes, in one place.
fn api() -> Api {
    Api::new()
        .add(Method::GET, "/sources", handlers::sources)
        .add(Method::GET, "/items", handlers::items)
        .add(Method::GET, "/items/{source}/{key}", handlers::item)
        .add(
            Method::POST,
            "/items/{source}/{key}/forget",
            handlers::forget,
        )
        .add(Method::GET, "/jobs", jobs::jobs)
        .add(Method::GET, "/jobs/{id}", jobs::job)
        .add(Method::POST, "/jobs/{id}/retry", jobs::retry)
        .add(Method::POST, "/jobs/{id}/replay", jobs::replay)
        .add(Method::GET, "/dead-letters", jobs::dead_letters)
        .add(Method::POST, "/dead-letters/retry", jobs::retry_all_dead)
        .add(Method::GET, "/stats", handlers::stats)
        .add(Method::GET, "/analytics", analytics::analytics)
        // Live configuration.
        .add(Method::POST, "/sources", sources::create_source)
        .add(
            Method::POST,
            "/sources/import",
            source_import::import_sources,
        )
        .add(Method::PUT, "/sources/{id}", sources::replace_source)
        .add(
            Method::DELETE,
            "/sources/{id}",
            source_delete::delete_source,
        )
        .add(Method::POST, "/sources/{id}/pause", sources::pause_source)
        .add(Method::POST, "/sources/{id}/resume", sources::resume_source)
        .add(Method::POST, "/sources/{id}/dry-run", poll_preview::dry_run)
        .add(Method::GET, "/routes", routes::list_routes)
        .add(Method::POST, "/routes", routes::create_route)
        .add(Method::PUT, "/routes/{name}", routes::replace_route)
        .add(Method::DELETE, "/routes/{name}", routes::delete_route)
        .add(Method::GET, "/config/status", config_status::config_status)
        // Connecting a Pinterest account (OAuth code flow run by the server).
        // (A path, not a `use`: `connect` uses this module's error type.)
        .add(
            Method::POST,
            "/accounts/{account}/connect",
            super::connect::api_connect,
        )
}

/// This reference as a page. Here, not in `docs.rs`: the page renders the document, and the
/// document lists the page.
#[utoipa::path(get, path = "/docs", tag = "reference", security(()),
    responses((status = 200, description = "The admin API reference as HTML.", content_type = "text/html")))]
pub async fn reference_page() -> axum::response::Response {
    let doc = serde_json::to_value(openapi::description()).unwrap_or_default();
    docs::answer(&doc)
}

/// Every `(method, path)` the admin router serves, the public reference routes included.
pub fn routes() -> Vec<(Method, &'static str)> {
    let mut routes = api().routes;
    routes.push((Method::GET, "/openapi.json"));
    routes.push((Method::GET, "/docs"));
    routes
}

pub fn router(state: HttpState) -> Router {
    let protected = api()
        .router
        .layer(middleware::from_fn_with_state(
            state.clone(),
            super::auth::require_admin,
        ))
        .with_state(state);
    Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/docs", get(reference_page))
        .merge(protected)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such API route") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_matches_only_itself() {
        let token = AdminToken::new(&SecretString::from("s3cret-admin"));
        assert!(token.matches("s3cret-admin"));
        assert!(!token.matches("s3cret-admi"));
        assert!(!token.matches(""));
        assert!(!token.matches("s3cret-admin "));
    }

    #[test]
    fn an_empty_configured_token_matches_nothing() {
        let token = AdminToken::new(&SecretString::from(""));
        assert!(!token.matches(""));
    }
}
