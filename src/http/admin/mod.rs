//! The admin API under `/api/v1`: sources, items, jobs, dead letters, retry and replay.
//!
//! Every route except `/openapi.json` needs `Authorization: Bearer <server.admin_token>` (or a
//! status-page session, whose POST/PUT/DELETE must come from pinbridge's own pages). The
//! token is kept only as a SHA-256 digest and compared in constant time; a wrong, empty or
//! missing token gets the same 401 with no hint. Without a configured token the API answers
//! 403.
//! Routes are registered through [`Api::add`], which also records them, so the OpenAPI test
//! can check the router and the description list the same routes.

mod handlers;
pub mod openapi;

use axum::Router;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::HttpState;
use crate::live::api as live;

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

/// An error answer: `{"error": "..."}` with a status.
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({"error": self.message})),
        )
            .into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
        }
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
        .add(Method::GET, "/jobs", handlers::jobs)
        .add(Method::GET, "/jobs/{id}", handlers::job)
        .add(Method::POST, "/jobs/{id}/retry", handlers::retry)
        .add(Method::POST, "/jobs/{id}/replay", handlers::replay)
        .add(Method::GET, "/dead-letters", handlers::dead_letters)
        .add(
            Method::POST,
            "/dead-letters/retry",
            handlers::retry_all_dead,
        )
        .add(Method::GET, "/stats", handlers::stats)
        // Live configuration.
        .add(Method::POST, "/sources", live::create_source)
        .add(Method::POST, "/sources/import", live::import_sources)
        .add(Method::PUT, "/sources/{id}", live::replace_source)
        .add(Method::DELETE, "/sources/{id}", live::delete_source)
        .add(Method::POST, "/sources/{id}/pause", live::pause_source)
        .add(Method::POST, "/sources/{id}/resume", live::resume_source)
        .add(Method::GET, "/routes", live::list_routes)
        .add(Method::POST, "/routes", live::create_route)
        .add(Method::PUT, "/routes/{name}", live::replace_route)
        .add(Method::DELETE, "/routes/{name}", live::delete_route)
        .add(Method::GET, "/config/status", live::config_status)
}

/// Every `(method, path)` the admin router serves, `/openapi.json` included.
pub fn routes() -> Vec<(Method, &'static str)> {
    let mut routes = api().routes;
    routes.push((Method::GET, "/openapi.json"));
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
