//! The OAuth side: `POST /v5/oauth/token` (HTTP Basic client auth; authorization_code,
//! refresh_token and client_credentials grants). The authorize page is `consent.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::ExposeSecret;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::Inner;
use super::validation::SbError;

/// The scopes a sandbox user grants by default: everything pinbridge may ask for, secret
/// boards included.
pub const DEFAULT_SCOPE: &str = "boards:read,boards:write,pins:read,pins:write,user_accounts:read,boards:read_secret,boards:write_secret,pins:read_secret";

pub(crate) async fn token(
    State(sb): State<Arc<Inner>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !client_authenticated(&sb, &headers) {
        return SbError::unauthorized().into_response();
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let result = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => code_grant(&sb, &form),
        Some("refresh_token") => refresh_grant(&sb, &form),
        Some("client_credentials") => client_grant(&sb, &form),
        Some(other) => Err(SbError::bad_request(format!(
            "Invalid parameter: grant_type `{other}` is not one of authorization_code, refresh_token, client_credentials."
        ))),
        None => Err(SbError::bad_request("Missing parameter: grant_type.")),
    };
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn client_authenticated(sb: &Inner, headers: &HeaderMap) -> bool {
    let Some(decoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
    else {
        return false;
    };
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let (id, secret) = (&decoded[..colon], &decoded[colon + 1..]);
    let id_ok = id.ct_eq(sb.config.client_id.as_bytes());
    let secret_ok = secret.ct_eq(sb.config.client_secret.expose_secret().as_bytes());
    bool::from(id_ok & secret_ok)
}

fn required<'a>(form: &'a HashMap<String, String>, key: &str) -> Result<&'a str, SbError> {
    form.get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SbError::bad_request(format!("Missing parameter: {key}.")))
}

fn code_grant(sb: &Inner, form: &HashMap<String, String>) -> Result<serde_json::Value, SbError> {
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    // Codes are single-use: taken out whether or not the redirect_uri matches.
    let rec = st
        .codes
        .remove(code)
        .ok_or_else(|| SbError::bad_request("Invalid authorization code."))?;
    if rec.redirect_uri != redirect_uri {
        return Err(SbError::bad_request(
            "redirect_uri does not match the one the code was issued for.",
        ));
    }
    st.stats.code_grants += 1;
    let (access, refresh) = st.issue_tokens(
        &rec.user_id,
        &rec.scope,
        now,
        sb.access_ttl_ms(),
        Some(sb.refresh_ttl_ms()),
    );
    let refresh_expires_at = now + sb.refresh_ttl_ms();
    Ok(token_json(
        sb,
        &access,
        &rec.scope,
        "authorization_code",
        refresh.as_deref(),
        refresh_expires_at,
    ))
}

fn refresh_grant(sb: &Inner, form: &HashMap<String, String>) -> Result<serde_json::Value, SbError> {
    let old = required(form, "refresh_token")?;
    let continuous = form.get("continuous_refresh").is_some_and(|v| v == "true");
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    let (user_id, scope, expires_at) = match st.refresh.get(old) {
        Some(rec) if rec.expires_at > now => {
            (rec.user_id.clone(), rec.scope.clone(), rec.expires_at)
        }
        _ => return Err(SbError::bad_request("Invalid refresh token.")),
    };
    st.stats.refresh_grants += 1;
    let rotate = continuous && sb.config.rotate_refresh_tokens;
    let refresh_ttl = rotate.then(|| sb.refresh_ttl_ms());
    let (access, new_refresh) =
        st.issue_tokens(&user_id, &scope, now, sb.access_ttl_ms(), refresh_ttl);
    let (refresh, refresh_expires_at) = match new_refresh {
        Some(r) => {
            st.refresh.remove(old);
            (r, now + sb.refresh_ttl_ms())
        }
        None => (old.to_string(), expires_at),
    };
    Ok(token_json(
        sb,
        &access,
        &scope,
        "refresh_token",
        Some(&refresh),
        refresh_expires_at,
    ))
}

fn client_grant(sb: &Inner, form: &HashMap<String, String>) -> Result<serde_json::Value, SbError> {
    let scope = required(form, "scope")?.to_string();
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    // A client token acts for the app owner: the first user, created on demand.
    let owner = match st.users.first() {
        Some(u) => u.id.clone(),
        None => st.add_user("app-owner"),
    };
    st.stats.client_credentials_grants += 1;
    let (access, _) = st.issue_tokens(&owner, &scope, now, sb.access_ttl_ms(), None);
    Ok(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": sb.access_ttl_ms() / 1000,
        "scope": scope,
        "response_type": "client_credentials",
    }))
}

fn token_json(
    sb: &Inner,
    access: &str,
    scope: &str,
    response_type: &str,
    refresh: Option<&str>,
    refresh_expires_at_ms: i64,
) -> serde_json::Value {
    let now = sb.clock.now_ms();
    json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": sb.access_ttl_ms() / 1000,
        "scope": scope,
        "refresh_token": refresh,
        "refresh_token_expires_in": (refresh_expires_at_ms - now).max(0) / 1000,
        "refresh_token_expires_at": refresh_expires_at_ms / 1000,
        "response_type": response_type,
    })
}
