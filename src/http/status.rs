//! The status page at `/`: server-rendered HTML, no front-end build. Shows sources, the queue,
//! recent Pins with their images and the dead letters, to a signed-in operator only (they name
//! sources, feeds, boards and errors); anyone else sees the sign-in form.
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

use super::HttpState;
use super::auth::{Caller, SESSION_COOKIE, caller, same_origin};
use super::session::SESSION_TTL;
use crate::store::{JobFilter, JobId, JobState};

/// No scripts at all; the inline stylesheet and Pin images (from any https/http host) only;
/// forms post only here; no framing (clickjacking), no `<base>` tricks.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/ui/login", post(login))
        .route("/ui/retry/{id}", post(retry))
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

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn signed_in(state: &HttpState, headers: &HeaderMap) -> bool {
    caller(state, headers) != Caller::Anonymous
}

const LOGIN_FORM: &str = "<form method=post action=/ui/login><label>Admin token \
     <input type=password name=token id=token autocomplete=current-password></label> \
     <button id=login>Sign in</button></form>";

async fn page(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=utf-8><title>pinbridge</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:4px 8px}img{max-height:80px}</style></head><body>\
         <h1>pinbridge</h1>",
    );
    if !signed_in(&state, &headers) {
        html.push_str(LOGIN_FORM);
        html.push_str("</body></html>");
        return Html(html).into_response();
    }
    // Readiness stays up while an account needs attention, so the page says it.
    html.push_str(
        "<h2>Accounts</h2><table id=accounts><tr><th>account</th><th>state</th><th></th></tr>",
    );
    for account in super::health::account_reports(&state).await {
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><form method=post action=\"/ui/accounts/{0}/connect\"><button class=\"connect\">Connect Pinterest account</button></form></td></tr>",
            esc(&account.name),
            esc(&crate::redact::text(
                account.problem.as_deref().unwrap_or("ok")
            ))
        ));
    }
    html.push_str("</table>");
    html.push_str("<h2>Sources</h2><table><tr><th>id</th><th>kind</th><th>last poll</th><th>errors</th><th>last error</th></tr>");
    for source in state.source_list().iter() {
        let s = state
            .store
            .source_state(&crate::item::SourceId::new(&source.id))
            .await
            .unwrap_or_default();
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&source.id),
            esc(&source.kind),
            s.last_poll.map_or("-".into(), |t| t.to_string()),
            s.error_count,
            esc(&crate::redact::error(s.last_error.as_deref().unwrap_or("")))
        ));
    }
    html.push_str("</table><h2>Queue</h2><ul id=queue>");
    let mut unknown_jobs = 0;
    if let Ok(stats) = state.store.stats().await {
        unknown_jobs = stats.jobs_by_state.get("unknown").copied().unwrap_or(0);
        for (name, count) in &stats.jobs_by_state {
            html.push_str(&format!("<li>{}: {count}</li>", esc(name)));
        }
    }
    html.push_str("</ul><h2>Recent Pins</h2><ul id=pins>");
    // Newest first, read from the store's finished-jobs index (no scan of every job).
    let recent = |s: &'static str| state.store.recent_jobs(s, 20);
    for job in recent("done").await.unwrap_or_default() {
        let image = state
            .store
            .item(&job.source, &job.item)
            .await
            .ok()
            .flatten()
            .and_then(|i| i.item.image_url)
            .unwrap_or_default();
        if let JobState::Done { pin_id, .. } = &job.state {
            html.push_str(&format!(
                "<li><img src=\"{}\" alt=\"\"> pin {} on {}</li>",
                esc(&image),
                esc(pin_id),
                esc(&job.target.board)
            ));
        }
    }
    html.push_str("</ul>");
    // Creates whose outcome is unknown: never repeated until a reconcile finds the board's
    // Pins since the send, so an operator should see why one is still waiting. Listed only when
    // the kept counts say there are some (the listing reads jobs; the counts cost nothing).
    if unknown_jobs > 0 {
        let filter = JobFilter {
            state: Some("unknown".into()),
            limit: 20,
            ..JobFilter::default()
        };
        let unknown = state.store.jobs(filter).await.unwrap_or_default();
        let now = state.clock.now_ms();
        html.push_str("<h2>Waiting to reconcile</h2><table id=unknown><tr><th>job</th><th>board</th><th>why</th></tr>");
        for job in &unknown {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&job.id.0),
                esc(&job.target.board),
                esc(&crate::redact::text(
                    &crate::sync::reconcile::unknown_detail(job, now).unwrap_or_default()
                ))
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("<h2>Failures</h2>");
    html.push_str("<table id=dead><tr><th>job</th><th>board</th><th>error</th><th></th></tr>");
    for job in recent("dead").await.unwrap_or_default() {
        let error = match &job.state {
            JobState::Dead { error, .. } => error.as_str(),
            _ => "",
        };
        let button = format!(
            "<form method=post action=\"/ui/retry/{0}\"><button class=retry data-job=\"{0}\">Retry</button></form>",
            esc(&job.id.0)
        );
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{button}</td></tr>",
            esc(&job.id.0),
            esc(&job.target.board),
            esc(&crate::redact::text(error))
        ));
    }
    html.push_str("</table></body></html>");
    Html(html).into_response()
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
