//! `GET /oauth/callback`: Pinterest sends the browser back here with `code` and `state` (or
//! `error`). Checks the flow (see the module above), exchanges the code, seals the tokens into
//! the account's record, hands them to the running token manager and shows a short page.
//!
//! The page never shows the code, a token or the client secret, and does not redirect to the
//! status page: the browser arrived from another site, so it would not send the (Strict)
//! session cookie with a redirect; a link the operator clicks is a same-site navigation.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::pending::{self, Unusable};
use super::{BROWSER_COOKIE, Connect, ConnectAccount, redirect_uri};
use crate::http::HttpState;
use crate::http::auth::cookie;
use crate::pinterest::TokenManager;

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The page shown for every outcome.
fn page(status: StatusCode, ok: bool, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>pinbridge: connect account</title>\
         <style>body{{font-family:sans-serif;margin:2em}}</style></head><body><h1>pinbridge</h1>\
         <p id={id}>{}</p><p><a id=back href=\"/\">Back to the status page</a></p></body></html>",
        esc(message),
        id = if ok { "connected" } else { "connect-error" },
    );
    let mut answer = (status, Html(html)).into_response();
    let headers = answer.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        // The address carried the code: it goes to no other site.
        (header::REFERRER_POLICY, "no-referrer"),
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
}

const START_AGAIN: &str = "start again with \"Connect Pinterest account\" on the status page";

/// The account whose pending flow has `state_digest`, read from the store.
async fn flow_of<'a>(
    state: &HttpState,
    connect: &'a Connect,
    state_digest: &str,
) -> Result<Option<(&'a ConnectAccount, crate::store::PendingConnect)>, String> {
    for account in &connect.accounts {
        let record = state
            .store
            .account_state(&account.name)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(flow) = pending::find(&record, state_digest) {
            return Ok(Some((account, flow.clone())));
        }
    }
    Ok(None)
}

pub async fn callback(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(connect) = state.connect.clone() else {
        return page(
            StatusCode::NOT_FOUND,
            false,
            "Connecting accounts is not available in this server.",
        );
    };
    let Some(flow_state) = q.get("state").filter(|s| !s.is_empty()) else {
        return page(
            StatusCode::BAD_REQUEST,
            false,
            &format!("This address has no state: {START_AGAIN}."),
        );
    };
    let state_digest = pending::digest(flow_state);
    let (account, flow) = match flow_of(&state, &connect, &state_digest).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return page(
                StatusCode::BAD_REQUEST,
                false,
                &format!("This authorization is unknown or was already used: {START_AGAIN}."),
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "The store could not be read for an OAuth callback.");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                false,
                "The store cannot be read right now; try again.",
            );
        }
    };
    let name = account.name.clone();
    let now = state.clock.now_ms();
    if let Err(why) = pending::usable(&flow, cookie(&headers, BROWSER_COOKIE), now) {
        tracing::warn!(account = %name, reason = ?why, "An OAuth callback was refused.");
        let message = match why {
            Unusable::Used => format!("This authorization was already used: {START_AGAIN}."),
            Unusable::Expired => format!("This authorization has expired: {START_AGAIN}."),
            Unusable::OtherBrowser => format!(
                "This authorization was started in another browser or session: {START_AGAIN} in this browser."
            ),
        };
        let status = match why {
            Unusable::OtherBrowser => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        return page(status, false, &message);
    }
    // Take the flow: exactly one callback gets it, whichever replica it reaches.
    let claim = pending::random_value();
    let (digest, mine) = (state_digest.clone(), claim.clone());
    let claimed = state
        .store
        .update_account_state(
            &name,
            Box::new(move |record| pending::claim(record, &digest, &mine, now)),
        )
        .await
        .map(|record| pending::claimed_by(&record, &state_digest, &claim));
    match claimed {
        Ok(true) => {}
        Ok(false) => {
            return page(
                StatusCode::BAD_REQUEST,
                false,
                &format!("This authorization was already used: {START_AGAIN}."),
            );
        }
        Err(e) => {
            tracing::error!(account = %name, error = %e, "The store refused an OAuth callback's claim.");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                false,
                "The store cannot be written right now; start again later.",
            );
        }
    }
    let outcome = finish(&state, &connect, account, &q).await;
    // The flow is used whatever came of it; the tokens (if any) are already stored.
    let digest = state_digest.clone();
    if let Err(e) = state
        .store
        .update_account_state(
            &name,
            Box::new(move |record| pending::remove(record, &digest)),
        )
        .await
    {
        tracing::warn!(account = %name, error = %e, "A used OAuth flow could not be removed; it is dropped with the next one.");
    }
    match outcome {
        Ok(scope) => {
            tracing::info!(account = %name, "Pinterest account connected from the browser; tokens stored sealed.");
            page(
                StatusCode::OK,
                true,
                &format!("Account {name} is connected to Pinterest (scopes: {scope})."),
            )
        }
        Err((status, message)) => {
            tracing::warn!(account = %name, problem = %message, "Connecting a Pinterest account failed.");
            page(status, false, &format!("Account {name}: {message}"))
        }
    }
}

/// Exchange the code and store the tokens; the granted scopes, or why not.
async fn finish(
    state: &HttpState,
    connect: &Connect,
    account: &ConnectAccount,
    q: &HashMap<String, String>,
) -> Result<String, (StatusCode, String)> {
    if let Some(error) = q.get("error") {
        let detail = q
            .get("error_description")
            .map(|d| format!(" ({})", crate::redact::text(d)))
            .unwrap_or_default();
        let message = if error == "access_denied" {
            format!("access was denied on Pinterest{detail}; nothing changed.")
        } else {
            format!(
                "Pinterest did not authorize: {}{detail}; nothing changed.",
                crate::redact::text(error)
            )
        };
        return Err((StatusCode::BAD_REQUEST, message));
    }
    let unavailable = |what: &str| (StatusCode::CONFLICT, what.to_string());
    let code = q
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or((StatusCode::BAD_REQUEST, "Pinterest sent no code.".into()))?;
    let credentials = connect
        .credentials
        .as_ref()
        .ok_or_else(|| unavailable("pinterest.client_id and client_secret are not set."))?;
    let vault = connect
        .vault
        .as_ref()
        .ok_or_else(|| unavailable("no token key is set."))?;
    let redirect = state
        .public_url
        .as_ref()
        .and_then(redirect_uri)
        .ok_or_else(|| unavailable("server.public_url is not set."))?;
    let tokens = TokenManager::exchange_code(
        &connect.token_url,
        credentials,
        code,
        redirect.as_str(),
        &connect.http,
        state.clock.as_ref(),
    )
    .await
    .map_err(|e| {
        (
            StatusCode::BAD_GATEWAY,
            format!(
                "Pinterest refused the authorization code: {}",
                crate::redact::error(&e.to_string())
            ),
        )
    })?;
    let blob = vault.seal(&account.name, &tokens, &account.origin);
    state
        .store
        .update_account_state(
            &account.name,
            Box::new(move |record| {
                record.tokens = Some(blob.clone());
                record.problem = None;
            }),
        )
        .await
        .map_err(|e| {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the tokens could not be stored: {e}"),
            )
        })?;
    let scope = tokens
        .scope
        .clone()
        .unwrap_or_else(|| "as requested".into());
    if let Some(manager) = &account.tokens {
        manager.replace(tokens).await;
    }
    Ok(scope)
}
