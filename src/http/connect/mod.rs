//! "Connect Pinterest account" from the browser: the OAuth authorization-code flow run by the
//! service itself, so an account can be (re)authorized without stopping it.
//!
//! 1. An admin starts it: the status page's button (`POST /ui/accounts/{account}/connect`,
//!    a signed-in session from pinbridge's own page) answers 303 to Pinterest's authorize
//!    page; `POST /api/v1/accounts/{account}/connect` answers `{"authorize_url": …}`.
//! 2. Starting records a pending flow in the account's store record (any replica may get the
//!    callback): the SHA-256 of a random `state`, of a random value given to the browser in a
//!    cookie, and an expiry. Only digests are stored.
//! 3. Pinterest sends the browser to `GET <server.public_url>/oauth/callback` ([`callback`]).
//!    The flow must exist, be unused and unexpired, and the browser must present the cookie of
//!    the one that started it (constant-time compare); the flow is then claimed once, the code
//!    exchanged, and the tokens sealed into the store.
//!
//! Why a cookie of its own, not the session cookie: the session cookie is `SameSite=Strict`, so
//! a browser does not send it on the redirect back from pinterest.com (another site). The
//! binding cookie is `SameSite=Lax` (sent on that top-level GET), HttpOnly, lives ten minutes,
//! and is set only in an answer to a signed-in admin. A flow started with the admin token has
//! no browser to bind: its `state` (256 random bits, single use, ten minutes) is the whole
//! proof.

mod callback;
pub mod pending;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use url::Url;

use super::HttpState;
use super::admin::ApiError;
use super::auth::{Caller, caller, cookie, same_origin};
use crate::pinterest::vault::Vault;
use crate::pinterest::{Credentials, TokenManager};
use crate::store::PendingConnect;

pub use callback::callback;

/// The cookie binding a flow to the browser that started it.
pub const BROWSER_COOKIE: &str = "pinbridge_connect";

/// What connecting needs, built by the app from the configuration.
pub struct Connect {
    /// The app's id and secret; connecting is refused without them.
    pub credentials: Option<Credentials>,
    /// Pinterest's authorize page.
    pub authorize_base: Url,
    /// The token endpoint the code is exchanged at.
    pub token_url: Url,
    pub http: reqwest::Client,
    /// Seals the tokens; connecting is refused without a token key.
    pub vault: Option<Arc<Vault>>,
    pub accounts: Vec<ConnectAccount>,
}

/// One configured account as the flow sees it.
pub struct ConnectAccount {
    pub name: String,
    /// The scopes asked for (the same as `pinbridge auth` asks for).
    pub scopes: Vec<&'static str>,
    /// Which configured tokens the stored ones descend from (see `sync::tokens::origin_of`).
    pub origin: String,
    /// The running token manager, given the new tokens at once.
    pub tokens: Option<Arc<TokenManager>>,
}

impl Connect {
    pub fn account(&self, name: &str) -> Option<&ConnectAccount> {
        self.accounts.iter().find(|a| a.name == name)
    }
}

/// Why a flow cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting accounts from the browser is not available in this server")]
    Off,
    #[error("no account `{0}` in the configuration")]
    UnknownAccount(String),
    #[error(
        "set server.public_url: Pinterest sends the browser back to <public_url>/oauth/callback, which must be a redirect URI of your Pinterest app"
    )]
    NoPublicUrl,
    #[error("set pinterest.client_id and pinterest.client_secret to connect an account")]
    NoCredentials,
    #[error(
        "set a token key (PINBRIDGE_TOKEN_KEY or store.token_keys) so the tokens can be stored encrypted"
    )]
    NoVault,
    #[error("the store refused the request: {0}")]
    Store(String),
}

impl ConnectError {
    pub fn status(&self) -> StatusCode {
        match self {
            ConnectError::UnknownAccount(_) => StatusCode::NOT_FOUND,
            ConnectError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::CONFLICT,
        }
    }
}

/// A started flow: where to send the browser, and the binding cookie to give it.
pub struct Started {
    pub authorize_url: Url,
    pub expires_at: i64,
    pub set_cookie: Option<HeaderValue>,
}

/// `<public_url>/oauth/callback`.
pub fn redirect_uri(public_url: &Url) -> Option<Url> {
    public_url.join("oauth/callback").ok()
}

/// Start a flow for `account`. `browser` is the request of a signed-in browser (its binding
/// cookie is reused when it has one); `None` for an API client with the admin token.
pub async fn start(
    state: &HttpState,
    account: &str,
    browser: Option<&HeaderMap>,
) -> Result<Started, ConnectError> {
    let connect = state.connect.as_ref().ok_or(ConnectError::Off)?;
    let configured = connect
        .account(account)
        .ok_or_else(|| ConnectError::UnknownAccount(account.to_string()))?;
    let redirect = state
        .public_url
        .as_ref()
        .and_then(redirect_uri)
        .ok_or(ConnectError::NoPublicUrl)?;
    let credentials = connect
        .credentials
        .as_ref()
        .ok_or(ConnectError::NoCredentials)?;
    connect.vault.as_ref().ok_or(ConnectError::NoVault)?;

    let flow_state = pending::random_value();
    let binding = browser.map(|headers| {
        cookie(headers, BROWSER_COOKIE)
            .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
            .map_or_else(pending::random_value, str::to_string)
    });
    let now = state.clock.now_ms();
    let flow = PendingConnect {
        state_digest: pending::digest(&flow_state),
        browser_digest: binding.as_deref().map(pending::digest),
        expires_at: now + pending::FLOW_TTL_MS,
        claimed_by: None,
    };
    let expires_at = flow.expires_at;
    state
        .store
        .update_account_state(
            account,
            Box::new(move |record| pending::add(record, flow.clone(), now)),
        )
        .await
        .map_err(|e| ConnectError::Store(e.to_string()))?;
    let authorize_url = crate::pinterest::oauth::authorize_url(
        &connect.authorize_base,
        &credentials.client_id,
        redirect.as_str(),
        &configured.scopes,
        &flow_state,
    );
    tracing::info!(account = %account, "Connecting the Pinterest account: the browser goes to Pinterest's authorize page.");
    let secure = redirect.scheme() == "https";
    let set_cookie = binding.and_then(|value| {
        HeaderValue::from_str(&format!(
            "{BROWSER_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
            pending::FLOW_TTL_MS / 1000,
            if secure { "; Secure" } else { "" }
        ))
        .ok()
    });
    Ok(Started {
        authorize_url,
        expires_at,
        set_cookie,
    })
}

/// `POST /ui/accounts/{account}/connect`: the status page's button. A signed-in session from
/// this server's own page (or the admin token); answers 303 to Pinterest.
async fn ui_connect(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Response {
    let text = |status: StatusCode, message: String| (status, message).into_response();
    let browser = match caller(&state, &headers) {
        Caller::Anonymous => return text(StatusCode::UNAUTHORIZED, "sign in first".into()),
        Caller::Session if !same_origin(&state, &headers) => {
            return text(
                StatusCode::FORBIDDEN,
                "cross-origin request refused: connect from pinbridge's own page".into(),
            );
        }
        Caller::Session => Some(&headers),
        Caller::Token => None,
    };
    match start(&state, &account, browser).await {
        Ok(started) => {
            let mut answer = (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, started.authorize_url.to_string())],
            )
                .into_response();
            if let Some(cookie) = started.set_cookie {
                answer.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            answer
        }
        Err(e) => text(e.status(), e.to_string()),
    }
}

/// The answer to starting a connect flow through the admin API.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ConnectStarted {
    /// The configured account being connected.
    pub account: String,
    /// Open this in a browser and approve; Pinterest then sends the browser to
    /// `<server.public_url>/oauth/callback`.
    pub authorize_url: String,
    /// When the flow expires (milliseconds since the Unix epoch, ten minutes after the start).
    pub expires_at: i64,
}

/// Start connecting a Pinterest account (OAuth code flow): open `authorize_url` in a browser
/// and approve; Pinterest sends the browser to `<server.public_url>/oauth/callback`, which
/// stores the tokens sealed. The flow is single use and expires at `expires_at`. Started from a
/// signed-in browser it is bound to that browser (a cookie); from the admin token, to nothing
/// but its random `state`. Needs `server.public_url`, `pinterest.client_id`/`client_secret` and
/// a token key (else 409).
#[utoipa::path(post, path = "/accounts/{account}/connect", tag = "accounts",
    params(("account" = String, Path, description = "The configured account name.")),
    responses((status = 200, description = "The flow is started.", body = ConnectStarted),
        (status = 401, description = "Missing or wrong admin token.", body = super::admin::answers::ErrorBody),
        (status = 403, description = "A browser session posting from another origin.", body = super::admin::answers::ErrorBody),
        (status = 404, description = "No such account.", body = super::admin::answers::ErrorBody),
        (status = 409, description = "Connecting is not set up: the message names the missing setting.", body = super::admin::answers::ErrorBody)))]
pub async fn api_connect(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(account): Path<String>,
) -> Response {
    let browser = (caller(&state, &headers) == Caller::Session).then_some(&headers);
    match start(&state, &account, browser).await {
        Ok(started) => {
            let mut answer = axum::Json(ConnectStarted {
                account,
                authorize_url: started.authorize_url.to_string(),
                expires_at: started.expires_at,
            })
            .into_response();
            if let Some(cookie) = started.set_cookie {
                answer.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            answer
        }
        Err(e) => ApiError::new(e.status(), e.to_string()).into_response(),
    }
}

/// The status page's connect button's route (private surface).
pub fn ui_router(state: HttpState) -> Router {
    Router::new()
        .route("/ui/accounts/{account}/connect", post(ui_connect))
        .with_state(state)
}

/// `GET /oauth/callback`: where Pinterest sends the browser back (public surface).
pub fn callback_router(state: HttpState) -> Router {
    Router::new()
        .route("/oauth/callback", get(callback))
        .with_state(state)
}
