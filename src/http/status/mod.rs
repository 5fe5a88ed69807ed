//! The status page at `/`: server-rendered HTML from templates, no scripts, no front-end
//! build. A card per account (token, quota used, a 429 block) and per source (health, polls,
//! items, Pins, last error), the queue with two charts drawn as SVG on the server (Pins made
//! per hour, the backlog over the last day), the newest Pins with their images, and the dead
//! letters with a retry button, and what the Pins earned over the last 30 days (a chart per
//! source and a table by source, `analytics.rs`); each recent Pin shows its fate (created, updated, deleted or
//! adopted) and links to its item's page, `/ui/items/{source}/{key}`, which lists every Pin
//! the item's jobs made or adopted with their events. Only a signed-in operator sees them
//! (they name sources, feeds, boards and errors); anyone else sees the sign-in form.
//!
//! `view` reads the store into plain values (bounded reads only), `render` fills the
//! minijinja templates in `templates/` with HTML auto-escaping on, `chart` draws the SVG,
//! `history` samples the backlog, `when` writes times for people, `item` reads Pin fates,
//! `retention` keeps what the retention task last did.
//!
//! Signing in with the admin token starts a session: a random id in an HttpOnly,
//! SameSite=Strict cookie (Secure when `server.public_url` is https), never the token itself.
//! Failed sign-ins slow down per client address; every POST from a session must carry this
//! server's Origin; every answer carries headers that forbid framing, sniffing, scripts and
//! cross-site referrers.

use std::net::{IpAddr, SocketAddr};

use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

mod analytics;
mod chart;
mod daily_chart;
mod history;
mod item;
mod render;
mod retention;
mod view;
mod when;

pub use history::{BacklogHistory, sample_backlog};
pub use retention::{RetentionRun, RetentionStatus};

use super::HttpState;
use super::auth::{Caller, SESSION_COOKIE, caller, same_origin};
use super::session::SESSION_TTL;
use crate::store::JobId;

/// No scripts at all; the inline stylesheet and Pin images (from any https/http host) only;
/// forms post only here; no framing (clickjacking), no `<base>` tricks.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/ui/login", post(login))
        .route("/ui/retry/{id}", post(retry))
        .route("/ui/items/{source}/{key}", get(item_page))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// [`CSP`], with Pinterest's authorize page allowed as a form target: the connect button's
/// answer redirects there, and browsers hold redirects after a form to `form-action` too.
fn csp(state: &HttpState) -> HeaderValue {
    let authorize = state
        .connect
        .as_ref()
        .map(|c| c.authorize_base.origin().ascii_serialization())
        .filter(|origin| origin.starts_with("http"));
    match authorize {
        Some(origin) => HeaderValue::from_str(&CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {origin}"),
        ))
        .unwrap_or(HeaderValue::from_static(CSP)),
        None => HeaderValue::from_static(CSP),
    }
}

async fn security_headers(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    let mut answer = next.run(request).await;
    let headers = answer.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp(&state));
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // Not `no-referrer`: with it browsers send `Origin: null` on the page's own POSTs,
        // which the Origin check must refuse. `same-origin` still tells other sites nothing.
        (header::REFERRER_POLICY, "same-origin"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    answer
}

fn signed_in(state: &HttpState, headers: &HeaderMap) -> bool {
    caller(state, headers) != Caller::Anonymous
}

async fn page(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    if !signed_in(&state, &headers) {
        return Html(render::login()).into_response();
    }
    let view = view::build(&state).await;
    let analytics = analytics::build(&state).await;
    Html(render::page(&view, &analytics)).into_response()
}

/// One item's Pins with their fates and events; the sign-in form for an anonymous visitor,
/// 404 for an item the store does not hold.
async fn item_page(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path((source, key)): Path<(String, String)>,
) -> Response {
    if !signed_in(&state, &headers) {
        return Html(render::login()).into_response();
    }
    match item::build(&state, &source, &key).await {
        Ok(Some(page)) => Html(render::item(&page)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, Html(render::missing(&source, &key))).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store did not answer: {e}"),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

fn refused(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

async fn login(
    State(state): State<HttpState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Form(form): Form<Login>,
) -> Response {
    // Without a peer address (a router served by other means) every caller shares one record.
    let client = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(peer)| peer.ip());
    if headers.contains_key(header::ORIGIN) && !same_origin(&state, &headers) {
        return refused(
            StatusCode::FORBIDDEN,
            "cross-origin sign-in refused: sign in from pinbridge's own page",
        );
    }
    if let Some(wait) = state.logins.wait(client) {
        let mut answer = refused(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed sign-ins from this address: wait, then try again",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            answer.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return answer;
    }
    let Some(token) = &state.admin else {
        return refused(
            StatusCode::FORBIDDEN,
            "sign-in is off: set server.admin_token",
        );
    };
    if !token.matches(&form.token) {
        state.logins.failed(client);
        tracing::warn!(%client, "Failed status-page sign-in.");
        return refused(StatusCode::UNAUTHORIZED, "wrong admin token");
    }
    state.logins.succeeded(client);
    let secure = state
        .public_url
        .as_ref()
        .is_some_and(|url| url.scheme() == "https");
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        state.sessions.create(),
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    let mut answer = Redirect::to("/").into_response();
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            answer.headers_mut().insert(header::SET_COOKIE, value);
            answer
        }
        // Hex ids always make a valid header; this cannot happen.
        Err(_) => refused(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not start a session",
        ),
    }
}

async fn retry(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match caller(&state, &headers) {
        Caller::Anonymous => return refused(StatusCode::UNAUTHORIZED, "sign in first"),
        Caller::Session if !same_origin(&state, &headers) => {
            return refused(
                StatusCode::FORBIDDEN,
                "cross-origin request refused: retry from pinbridge's own page",
            );
        }
        Caller::Session | Caller::Token => {}
    }
    match state.store.revive(&JobId(id), state.clock.now_ms()).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}
