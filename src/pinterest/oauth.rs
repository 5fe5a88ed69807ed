//! OAuth tokens of one Pinterest account: hands out the access token, refreshes it before it
//! expires or after a 401 (one refresh at a time), and exchanges authorization codes.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use url::Url;

use crate::clock::{Clock, Millis, SharedClock};
use crate::pinterest::model::ErrorBody;

// Kept in its own file so the API error can wrap it without importing the token manager.
pub use super::auth_error::AuthError;

/// Refresh this long before the access token expires.
const REFRESH_MARGIN_MS: i64 = 5 * 60 * 1000;

/// The app's client id and secret (HTTP Basic on the token endpoint).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// One account's tokens. Expiry times are unix milliseconds; `None` means unknown.
#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub access_expires_at: Option<Millis>,
    pub refresh_expires_at: Option<Millis>,
    pub scope: Option<String>,
}

impl Tokens {
    /// Just an access token (e.g. a sandbox token from the developer portal).
    pub fn access_only(access_token: impl Into<String>) -> Self {
        Self {
            access_token: SecretString::from(access_token.into()),
            refresh_token: None,
            access_expires_at: None,
            refresh_expires_at: None,
            scope: None,
        }
    }
}

/// The token endpoint's 200 body (`OauthAccessTokenResponse` and its sub-schemas).
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expires_in: Option<i64>,
    /// Unix seconds.
    #[serde(default)]
    refresh_token_expires_at: Option<i64>,
}

type RefreshHook = Box<dyn Fn(&Tokens) + Send + Sync>;

/// A turn at refreshing one account's tokens, held across processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshTurn(pub u64);

/// Serialises refreshes of one account across processes that share its tokens (replicas on one
/// store). With continuous refresh every refresh retires the refresh token it used, so replicas
/// refreshing on their own would leave all but one holding a dead token: instead each takes the
/// turn, adopts the tokens another replica stored if they are fresh, and otherwise refreshes and
/// stores the result before giving the turn back.
#[async_trait::async_trait]
pub trait SharedTokens: Send + Sync {
    /// Wait for the turn; return the tokens stored last (by any replica), if any.
    async fn acquire(&self) -> Result<(RefreshTurn, Option<Tokens>), AuthError>;
    /// Store `refreshed` durably (when given), then give the turn back.
    async fn release(&self, turn: RefreshTurn, refreshed: Option<&Tokens>)
    -> Result<(), AuthError>;
}

/// One per account. Holds the tokens behind a tokio mutex; a refresh runs while holding it, so
/// concurrent callers wait for that one refresh instead of starting their own (single flight).
pub struct TokenManager {
    token_url: Url,
    creds: Option<Credentials>,
    http: reqwest::Client,
    clock: SharedClock,
    tokens: tokio::sync::Mutex<Tokens>,
    on_refresh: Option<RefreshHook>,
    shared: Option<std::sync::Arc<dyn SharedTokens>>,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl TokenManager {
    pub fn new(
        token_url: Url,
        creds: Option<Credentials>,
        tokens: Tokens,
        http: reqwest::Client,
        clock: SharedClock,
    ) -> Self {
        Self {
            token_url,
            creds,
            http,
            clock,
            tokens: tokio::sync::Mutex::new(tokens),
            on_refresh: None,
            shared: None,
        }
    }

    /// Called with the new tokens after every successful refresh (the app persists them). It runs
    /// while the token lock is held: keep it short (e.g. send to a channel) and do not call back
    /// into this manager.
    pub fn on_refresh(mut self, f: impl Fn(&Tokens) + Send + Sync + 'static) -> Self {
        self.on_refresh = Some(Box::new(f));
        self
    }

    /// Refresh in turns with other processes sharing these tokens (see [`SharedTokens`]).
    pub fn shared_with(mut self, shared: std::sync::Arc<dyn SharedTokens>) -> Self {
        self.shared = Some(shared);
        self
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// A copy of the current tokens.
    pub async fn tokens(&self) -> Tokens {
        self.tokens.lock().await.clone()
    }

    /// Use `tokens` from now on: the account was authorized again (a browser connect), so the
    /// tokens held so far are replaced without a refresh.
    pub async fn replace(&self, tokens: Tokens) {
        *self.tokens.lock().await = tokens;
    }

    /// Take the tokens last stored by any process sharing them (see [`SharedTokens`]) when they
    /// differ from the ones held: the account was connected again elsewhere (another replica
    /// got the browser's callback). Returns whether they were taken; without shared tokens
    /// there is nothing to take.
    pub async fn adopt_stored(&self) -> Result<bool, AuthError> {
        let Some(shared) = self.shared.clone() else {
            return Ok(false);
        };
        let mut t = self.tokens.lock().await;
        let (turn, stored) = shared.acquire().await?;
        let adopted = match stored {
            Some(stored) if !same_access(&stored, &t) => {
                *t = stored;
                true
            }
            _ => false,
        };
        shared.release(turn, None).await?;
        Ok(adopted)
    }

    /// The access token to use now. Refreshes first when it expires within 5 minutes and a refresh
    /// is possible; if that refresh fails transiently while the old token is still valid, the old
    /// token is used.
    pub async fn access_token(&self) -> Result<SecretString, AuthError> {
        let mut t = self.tokens.lock().await;
        let now = self.clock.now_ms();
        let Some(expires_at) = t.access_expires_at else {
            return Ok(t.access_token.clone());
        };
        if expires_at - now > REFRESH_MARGIN_MS {
            return Ok(t.access_token.clone());
        }
        let expired = expires_at <= now;
        match self.refresh_locked(&mut t).await {
            Ok(()) => Ok(t.access_token.clone()),
            Err(e) if !expired && (e.is_transient() || matches!(e, AuthError::Expired { .. })) => {
                tracing::warn!(error = %e, "Token refresh failed; using the current token until it expires.");
                Ok(t.access_token.clone())
            }
            Err(e) => Err(e),
        }
    }

    /// Refresh after `stale` was refused (401), unless another task already replaced it: then the
    /// current token is returned without a second refresh.
    pub async fn refresh(&self, stale: &SecretString) -> Result<SecretString, AuthError> {
        let mut t = self.tokens.lock().await;
        let same = t
            .access_token
            .expose_secret()
            .as_bytes()
            .ct_eq(stale.expose_secret().as_bytes());
        if !bool::from(same) {
            return Ok(t.access_token.clone());
        }
        self.refresh_locked(&mut t).await?;
        Ok(t.access_token.clone())
    }

    async fn refresh_locked(&self, t: &mut Tokens) -> Result<(), AuthError> {
        let Some(shared) = self.shared.clone() else {
            return self.refresh_here(t).await;
        };
        let (turn, stored) = shared.acquire().await?;
        if let Some(stored) = stored
            && self.newer_and_fresh(&stored, t)
        {
            tracing::info!("Using the Pinterest tokens another replica refreshed.");
            *t = stored;
            return shared.release(turn, None).await;
        }
        match self.refresh_here(t).await {
            Ok(()) => shared.release(turn, Some(t)).await,
            Err(e) => {
                if let Err(release) = shared.release(turn, None).await {
                    tracing::warn!(error = %release, "Could not give back the refresh turn; it expires by itself.");
                }
                Err(e)
            }
        }
    }

    /// `stored` replaces `current`: it is another access token, valid beyond the refresh margin.
    fn newer_and_fresh(&self, stored: &Tokens, current: &Tokens) -> bool {
        let other = !same_access(stored, current);
        let now = self.clock.now_ms();
        other
            && stored
                .access_expires_at
                .is_none_or(|at| at - now > REFRESH_MARGIN_MS)
    }

    async fn refresh_here(&self, t: &mut Tokens) -> Result<(), AuthError> {
        let Some(creds) = &self.creds else {
            return Err(AuthError::Expired {
                reason: "no client_id/client_secret configured",
            });
        };
        let Some(refresh_token) = t.refresh_token.clone() else {
            return Err(AuthError::Expired {
                reason: "no refresh token",
            });
        };
        let now = self.clock.now_ms();
        if t.refresh_expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::Expired {
                reason: "the refresh token has expired too",
            });
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
            // Apps from before 2025-09-25 must ask for a continuous (renewable) refresh token.
            ("continuous_refresh", "true"),
        ];
        let resp = token_request(&self.http, &self.token_url, creds, &form).await?;
        let mut new = tokens_from(resp, now);
        if new.refresh_token.is_none() {
            // Keep the old refresh token when the answer carries none.
            new.refresh_token = Some(refresh_token);
            new.refresh_expires_at = t.refresh_expires_at;
        }
        if new.scope.is_none() {
            new.scope = t.scope.clone();
        }
        *t = new;
        tracing::info!("Pinterest access token refreshed.");
        if let Some(hook) = &self.on_refresh {
            hook(t);
        }
        Ok(())
    }

    /// The authorization-code grant (`pinbridge auth`): trade `code` for tokens.
    pub async fn exchange_code(
        token_url: &Url,
        creds: &Credentials,
        code: &str,
        redirect_uri: &str,
        http: &reqwest::Client,
        clock: &dyn Clock,
    ) -> Result<Tokens, AuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("continuous_refresh", "true"),
        ];
        let now = clock.now_ms();
        let resp = token_request(http, token_url, creds, &form).await?;
        Ok(tokens_from(resp, now))
    }
}

/// Whether two token sets hold the same access token (constant time).
fn same_access(a: &Tokens, b: &Tokens) -> bool {
    bool::from(
        a.access_token
            .expose_secret()
            .as_bytes()
            .ct_eq(b.access_token.expose_secret().as_bytes()),
    )
}

/// The URL a user opens to grant access: `{authorize_base}?client_id=…&redirect_uri=…&response_type=code&scope=…&state=…`.
pub fn authorize_url(
    authorize_base: &Url,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[&str],
    state: &str,
) -> Url {
    let mut url = authorize_base.clone();
    url.query_pairs_mut()
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", &scopes.join(","))
        .append_pair("state", state);
    url
}

fn tokens_from(r: TokenResponse, now: Millis) -> Tokens {
    let refresh_expires_at = match (r.refresh_token_expires_at, r.refresh_token_expires_in) {
        (Some(at), _) => Some(at.saturating_mul(1000)),
        (None, Some(secs)) => Some(now.saturating_add(secs.saturating_mul(1000))),
        (None, None) => None,
    };
    Tokens {
        access_token: SecretString::from(r.access_token),
        refresh_token: r.refresh_token.map(SecretString::from),
        access_expires_at: r
            .expires_in
            .map(|s| now.saturating_add(s.saturating_mul(1000))),
        refresh_expires_at,
        scope: r.scope,
    }
}

async fn token_request(
    http: &reqwest::Client,
    token_url: &Url,
    creds: &Credentials,
    form: &[(&str, &str)],
) -> Result<TokenResponse, AuthError> {
    let resp = http
        .post(token_url.clone())
        .basic_auth(&creds.client_id, Some(creds.client_secret.expose_secret()))
        .form(form)
        .send()
        .await
        .map_err(|e| AuthError::Transport {
            message: crate::pinterest::error::error_chain(&e.without_url()),
        })?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| AuthError::Transport {
        message: crate::pinterest::error::error_chain(&e.without_url()),
    })?;
    if status.is_success() {
        return serde_json::from_slice(&body).map_err(|e| AuthError::Decode {
            message: e.to_string(),
        });
    }
    let err: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let message = err
        .message
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
    if status.is_server_error() || status.as_u16() == 429 {
        Err(AuthError::Unavailable {
            status: status.as_u16(),
            message,
        })
    } else {
        Err(AuthError::Rejected {
            status: status.as_u16(),
            code: err.code,
            message,
        })
    }
}
