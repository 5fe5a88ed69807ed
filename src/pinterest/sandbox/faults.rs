//! Fault injection (5xx, latency, 429 bursts, create-then-fail, a Trial app), bearer
//! authentication and the per-user write quota (`quota.rs`): the guard every `/v5` API request
//! passes before its handler.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::Inner;
use super::quota::admit_write;
use super::validation::SbError;

/// How a create-then-fail answers after the Pin was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailMode {
    /// A 500 with an error body.
    Status500,
    /// The connection breaks while the answer is being sent.
    Drop,
    /// Either, chosen by the seeded RNG.
    #[default]
    Either,
}

/// Injected faults; change them at runtime with `Sandbox::set_faults`.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Share (0.0..=1.0) of API requests answered 503 or 500 before anything is done.
    pub error_rate: f64,
    /// Added to every API request before it is handled.
    pub latency: Duration,
    /// Share of `POST /pins` that create the Pin and then fail (see `create_then_fail`).
    pub create_then_fail_rate: f64,
    pub create_then_fail: FailMode,
    /// The next this-many API requests answer 429.
    pub burst_429: u32,
    /// Those 429s are spam blocks (`message` mentions spam).
    pub burst_429_spam: bool,
    /// `Retry-After` seconds on forced 429s; `None` sends no header.
    pub burst_retry_after: Option<u64>,
    /// Answer every `POST /pins` as production answers an app with Trial access: 403, code 29.
    pub trial_app: bool,
    /// Answer every `PATCH /pins/{id}` as an app that may not use that beta operation: 403.
    pub update_unavailable: bool,
    /// The next this-many Pin analytics calls answer 429 (with `burst_retry_after`), on top
    /// of the `org_analytics` quota; other calls are not affected.
    pub analytics_burst_429: u32,
}

/// What production answers a Pin create from an app with Trial access (seen in practice; the
/// app must use the API sandbox or get Standard access).
pub const TRIAL_APP_MESSAGE: &str = "Apps with Trial access may not create Pins in production https://api.pinterest.com - use API Sandbox https://api-sandbox.pinterest.com instead.";

/// What the sandbox answers a Pin update when `update_unavailable` is set. Pinterest does not
/// document how it refuses its beta `PATCH /pins/{id}` to an app; the code (3) and wording
/// are the sandbox's own, and the client treats any 403 to an update as this refusal.
pub const UPDATE_UNAVAILABLE_MESSAGE: &str =
    "This endpoint is currently in beta and not available to this app (sandbox).";

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            latency: Duration::ZERO,
            create_then_fail_rate: 0.0,
            create_then_fail: FailMode::Either,
            burst_429: 0,
            burst_429_spam: false,
            burst_retry_after: Some(30),
            trial_app: false,
            update_unavailable: false,
            analytics_burst_429: 0,
        }
    }
}

/// The authenticated user of a request, for the handlers.
#[derive(Clone, Debug)]
pub(crate) struct AuthedUser {
    pub id: String,
    /// The token's granted scopes, comma-separated.
    pub scope: String,
}

impl AuthedUser {
    /// The token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.split(',').any(|s| s == scope)
    }
}

/// Latency, forced faults, bearer auth, then the write quota; the handler runs only if all pass.
pub(crate) async fn api_guard(
    State(sb): State<Arc<Inner>>,
    mut req: Request,
    next: Next,
) -> Response {
    let latency = sb.lock().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(resp) = forced_fault(&sb) {
        return resp;
    }
    let (user, scope) = match authenticate(&sb, req.headers()) {
        Ok(found) => found,
        Err(e) => return e.into_response(),
    };
    if let Some(needed) = required_scope(req.method(), req.uri().path())
        && !scope.split(',').any(|s| s == needed)
    {
        // Pinterest's wording for a missing scope is not documented; code and message are the
        // sandbox's own.
        let message = format!("The access token lacks the scope {needed} (sandbox).");
        return SbError::new(StatusCode::FORBIDDEN, 3, message).into_response();
    }
    if req.method() == Method::POST
        && req.uri().path().ends_with("/pins")
        && sb.lock().faults.trial_app
    {
        return SbError::new(StatusCode::FORBIDDEN, 29, TRIAL_APP_MESSAGE).into_response();
    }
    if req.method() == Method::PATCH
        && req.uri().path().starts_with("/v5/pins/")
        && sb.lock().faults.update_unavailable
    {
        return SbError::new(StatusCode::FORBIDDEN, 3, UPDATE_UNAVAILABLE_MESSAGE).into_response();
    }
    if is_write(req.method())
        && let Err(e) = admit_write(&sb, &user.id)
    {
        return e.into_response();
    }
    req.extensions_mut().insert(user);
    next.run(req).await
}

/// The scope a request needs, by the spec's security requirements for the operations the
/// sandbox serves (pins and boards; the others need none here).
fn required_scope(method: &Method, path: &str) -> Option<&'static str> {
    let pins = path.contains("/pins");
    let boards = path.contains("/boards");
    match (is_write(method), pins, boards) {
        (true, true, _) => Some("pins:write"),
        (true, false, true) => Some("boards:write"),
        (false, true, _) => Some("pins:read"),
        (false, false, true) => Some("boards:read"),
        _ => None,
    }
}

fn is_write(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PATCH | Method::PUT | Method::DELETE
    )
}

fn forced_fault(sb: &Inner) -> Option<Response> {
    let mut st = sb.lock();
    if st.burst_left > 0 {
        st.burst_left -= 1;
        st.stats.rate_limited += 1;
        let f = &st.faults;
        let mut e = SbError::rate_limited(0, f.burst_429_spam);
        e.retry_after = f.burst_retry_after;
        return Some(e.into_response());
    }
    let rate = st.faults.error_rate;
    if rate > 0.0 && st.rng.random_bool(rate.clamp(0.0, 1.0)) {
        st.stats.injected_5xx += 1;
        let e = if st.rng.random_bool(0.5) {
            SbError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                503,
                "Service unavailable (sandbox fault).",
            )
        } else {
            SbError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                500,
                "Internal server error (sandbox fault).",
            )
        };
        return Some(e.into_response());
    }
    None
}

/// The user a bearer token belongs to, and the scopes the token grants.
fn authenticate(
    sb: &Inner,
    headers: &axum::http::HeaderMap,
) -> Result<(AuthedUser, String), SbError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    // A HashMap lookup is not constant-time; acceptable for a local test stand-in.
    let found = token
        .and_then(|t| st.access.get(t))
        .filter(|rec| rec.expires_at > now)
        .map(|rec| (rec.user_id.clone(), rec.scope.clone()));
    match found {
        Some((id, scope)) => Ok((
            AuthedUser {
                id,
                scope: scope.clone(),
            },
            scope,
        )),
        None => {
            st.stats.unauthorized += 1;
            Err(SbError::unauthorized())
        }
    }
}
