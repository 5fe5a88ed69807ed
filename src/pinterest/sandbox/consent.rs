//! The sandbox's authorize page, `/oauth/`: what a user sees on pinterest.com when an app asks
//! for access. `GET` checks the request like Pinterest and shows a consent page (the app, the
//! user, the scopes asked for) with "Allow" and "Deny"; the page posts the decision back to
//! `/oauth/`, which redirects to `redirect_uri` with `code` and `state`, or with
//! `error=access_denied`.
//!
//! Errors follow RFC 6749 §4.1.2.1: an unknown `client_id` or a bad `redirect_uri` gets an error
//! page (never a redirect to an address nobody vouched for); a bad `response_type` or `scope`
//! goes back to the app as `error=…`.
//!
//! Sandbox extension for scripted tests: `GET /oauth/?…&approve=allow` decides at once, as if
//! the user had clicked "Allow" (`user=NAME` picks the user; default: the first one).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use subtle::ConstantTimeEq;
use url::Url;

use super::Inner;
use super::validation::is_http_url;

/// Every scope Pinterest API v5 defines; anything else is `invalid_scope`.
const KNOWN_SCOPES: &[&str] = &[
    "ads:read",
    "ads:write",
    "billing:read",
    "billing:write",
    "biz_access:read",
    "biz_access:write",
    "boards:read",
    "boards:read_secret",
    "boards:write",
    "boards:write_secret",
    "catalogs:read",
    "catalogs:write",
    "pins:read",
    "pins:read_secret",
    "pins:write",
    "pins:write_secret",
    "user_accounts:read",
    "user_accounts:write",
];

type Params = HashMap<String, String>;

/// A request that passed the checks.
struct Checked {
    redirect_uri: Url,
    scope: String,
    state: Option<String>,
}

enum Refusal {
    /// Shown to the user: the app cannot be trusted with a redirect.
    Page(&'static str),
    /// Sent back to the app.
    Redirect(Url),
}

fn check(sb: &Inner, q: &Params) -> Result<Checked, Refusal> {
    let client_ok = q
        .get("client_id")
        .is_some_and(|c| bool::from(c.as_bytes().ct_eq(sb.config.client_id.as_bytes())));
    if !client_ok {
        return Err(Refusal::Page("This app is unknown (client_id)."));
    }
    let Some(redirect_uri) = q
        .get("redirect_uri")
        .filter(|u| is_http_url(u))
        .and_then(|u| Url::parse(u).ok())
    else {
        return Err(Refusal::Page("redirect_uri must be an http(s) URL."));
    };
    let state = q.get("state").cloned();
    let back = |error: &str| {
        let mut target = redirect_uri.clone();
        target.query_pairs_mut().append_pair("error", error);
        if let Some(state) = &state {
            target.query_pairs_mut().append_pair("state", state);
        }
        Refusal::Redirect(target)
    };
    if q.get("response_type").map(String::as_str) != Some("code") {
        return Err(back("unsupported_response_type"));
    }
    let scope = q.get("scope").map(String::as_str).unwrap_or("");
    let scopes: Vec<&str> = scope.split(',').map(str::trim).collect();
    if scope.is_empty() || scopes.iter().any(|s| !KNOWN_SCOPES.contains(s)) {
        return Err(back("invalid_scope"));
    }
    Ok(Checked {
        redirect_uri,
        scope: scopes.join(","),
        state,
    })
}

fn refuse(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => (
            StatusCode::BAD_REQUEST,
            Html(format!(
                "<!doctype html><title>Pinterest sandbox</title><h1>Cannot authorize</h1><p id=error>{message}</p>"
            )),
        )
            .into_response(),
        Refusal::Redirect(target) => see_other(&target),
    }
}

fn see_other(target: &Url) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, target.to_string())],
    )
        .into_response()
}

/// The user the decision is made for: `user` by name (created if new), else the first user.
fn user_id(sb: &Inner, name: Option<&String>) -> String {
    let mut st = sb.lock();
    let found = match name {
        Some(name) => st.users.iter().find(|u| &u.username == name),
        None => st.users.first(),
    }
    .map(|u| u.id.clone());
    match found {
        Some(id) => id,
        None => st.add_user(name.map(String::as_str).unwrap_or("sandbox-user")),
    }
}

fn username(sb: &Inner, id: &str) -> String {
    let st = sb.lock();
    st.users
        .iter()
        .find(|u| u.id == id)
        .map(|u| u.username.clone())
        .unwrap_or_default()
}

/// Redirect to the app with the user's decision.
fn decided(sb: &Inner, q: &Params, allow: bool) -> Response {
    let checked = match check(sb, q) {
        Ok(checked) => checked,
        Err(refusal) => return refuse(refusal),
    };
    let mut target = checked.redirect_uri.clone();
    if allow {
        let user = user_id(sb, q.get("user"));
        let code = sb.issue_code(&user, checked.redirect_uri.as_str(), &checked.scope);
        target.query_pairs_mut().append_pair("code", &code);
    } else {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("error_description", "The user denied access.");
    }
    if let Some(state) = &checked.state {
        target.query_pairs_mut().append_pair("state", state);
    }
    see_other(&target)
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// `GET /oauth/`: the consent page (or, with `approve=allow`, the decision at once).
pub(crate) async fn page(State(sb): State<Arc<Inner>>, Query(q): Query<Params>) -> Response {
    if q.get("approve").map(String::as_str) == Some("allow") {
        return decided(&sb, &q, true);
    }
    let checked = match check(&sb, &q) {
        Ok(checked) => checked,
        Err(refusal) => return refuse(refusal),
    };
    let user = username(&sb, &user_id(&sb, q.get("user")));
    let hidden: String = [
        "client_id",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
        "user",
    ]
    .iter()
    .filter_map(|name| q.get(*name).map(|value| (name, value)))
    .map(|(name, value)| format!("<input type=hidden name={name} value=\"{}\">", esc(value)))
    .collect();
    let scopes: String = checked
        .scope
        .split(',')
        .map(|s| format!("<li class=scope>{}</li>", esc(s)))
        .collect();
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Pinterest sandbox: authorize</title></head>\
         <body><h1>Give access to app {app}?</h1>\
         <p>Signed in as <b id=user>{user}</b>. The app will be sent to <code>{origin}</code> and may:</p>\
         <ul id=scopes>{scopes}</ul>\
         <form method=post action=/oauth/>{hidden}\
         <button id=allow name=decision value=allow>Allow</button> \
         <button id=deny name=decision value=deny>Deny</button></form></body></html>",
        app = esc(&sb.config.client_id),
        user = esc(&user),
        origin = esc(&checked.redirect_uri.origin().ascii_serialization()),
    );
    Html(html).into_response()
}

/// `POST /oauth/`: the consent page's "Allow" or "Deny".
pub(crate) async fn decide(State(sb): State<Arc<Inner>>, Form(form): Form<Params>) -> Response {
    let allow = form.get("decision").map(String::as_str) == Some("allow");
    decided(&sb, &form, allow)
}
