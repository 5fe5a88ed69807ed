//! A local, stateful stand-in for Pinterest API v5, mounted under `/v5` (so
//! `api_base = http://127.0.0.1:PORT/v5/`). It issues and checks OAuth tokens, validates input
//! with the spec's limits, paginates with opaque bookmarks, enforces a per-user write quota and
//! injects faults (5xx, latency, 429 bursts, create-then-fail) from a seeded RNG. Used by tests,
//! `pinbridge demo` and `pinbridge sandbox`. It never fetches Pin image URLs.

mod analytics;
mod analytics_figures;
mod auth;
mod boards;
mod cli;
mod consent;
mod faults;
mod pins;
mod quota;
mod record;
mod state;
mod validation;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::clock::{Millis, SharedClock, SystemClock};

pub use analytics::BATCH_UNAVAILABLE_MESSAGE;
pub use auth::DEFAULT_SCOPE;
pub use cli::run_cli;
pub use faults::{FailMode, Faults, TRIAL_APP_MESSAGE, UPDATE_UNAVAILABLE_MESSAGE};
pub use quota::{QuotaHeaders, QuotaKind};
pub use record::Exchange;
pub use state::SandboxStats;

/// Sandbox settings; `Default` gives a quiet sandbox with Pinterest's Standard write quota.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    pub client_id: String,
    pub client_secret: SecretString,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// With `continuous_refresh=true`, a refresh returns a new refresh token and retires the old
    /// one; otherwise (or without the flag) the same refresh token is returned.
    pub rotate_refresh_tokens: bool,
    /// Writes (POST/PATCH/PUT/DELETE) per user per sliding minute; `None` = unlimited.
    pub write_quota_per_minute: Option<u32>,
    /// How that quota counts: a sliding minute (default) or a token bucket.
    pub write_quota_kind: QuotaKind,
    /// Which headers its 429s carry (default: `Retry-After` only).
    pub quota_headers: QuotaHeaders,
    /// Pin analytics calls per user per sliding minute (`org_analytics`, counted apart from
    /// writes); `None` = unlimited.
    pub analytics_quota_per_minute: Option<u32>,
    /// Whether this app may use the beta batch analytics call (`GET /pins/analytics`); off,
    /// it answers 403 ([`BATCH_UNAVAILABLE_MESSAGE`]).
    pub batch_analytics: bool,
    pub faults: Faults,
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            client_id: "1480000".to_string(),
            client_secret: SecretString::from("sandbox-client-secret"),
            access_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_token_ttl: Duration::from_secs(60 * 24 * 3600),
            rotate_refresh_tokens: true,
            // org_write, Standard access: 100 per minute per user per app.
            write_quota_per_minute: Some(100),
            write_quota_kind: QuotaKind::SlidingWindow,
            quota_headers: QuotaHeaders::RetryAfter,
            // org_analytics, Standard access: 60 per minute per user per app.
            analytics_quota_per_minute: Some(60),
            batch_analytics: true,
            faults: Faults::default(),
            seed: 1,
        }
    }
}

/// A user with freshly issued tokens.
#[derive(Clone, Debug)]
pub struct SandboxUser {
    pub id: String,
    pub username: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// A Pin as the sandbox holds it, with names resolved (for tests and `demo` output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxPin {
    pub id: String,
    pub owner: String,
    pub board_id: String,
    pub board_name: String,
    pub section_id: Option<String>,
    pub section_name: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    pub image_url: String,
    pub created_at_ms: Millis,
}

pub(crate) struct Inner {
    pub config: SandboxConfig,
    pub clock: SharedClock,
    state: Mutex<state::State>,
}

impl Inner {
    /// The state lock; a panic elsewhere never makes the sandbox unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(crate) fn access_ttl_ms(&self) -> Millis {
        self.config.access_token_ttl.as_millis() as Millis
    }
    pub(crate) fn refresh_ttl_ms(&self) -> Millis {
        self.config.refresh_token_ttl.as_millis() as Millis
    }
    pub(crate) fn issue_code(&self, user_id: &str, redirect_uri: &str, scope: &str) -> String {
        let mut st = self.lock();
        let code = st.random_string("", 32);
        st.codes.insert(
            code.clone(),
            state::CodeRec {
                user_id: user_id.to_string(),
                redirect_uri: redirect_uri.to_string(),
                scope: scope.to_string(),
            },
        );
        code
    }
}

/// The sandbox handle; clones share one world.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// With an injected clock (token expiry and the quota window follow it).
    pub fn with_clock(config: SandboxConfig, clock: SharedClock) -> Self {
        let state = state::State::new(config.seed, config.faults.clone());
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                state: Mutex::new(state),
            }),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// `http://ADDR/v5/`: the `api_base` for a sandbox listening on `addr`.
    pub fn api_base(addr: SocketAddr) -> Url {
        let host = if addr.ip().is_unspecified() {
            "127.0.0.1".to_string()
        } else {
            addr.ip().to_string()
        };
        let host = if addr.is_ipv6() && host != "127.0.0.1" {
            format!("[{host}]")
        } else {
            host
        };
        Url::parse(&format!("http://{host}:{}/v5/", addr.port()))
            .unwrap_or_else(|_| Url::parse("http://127.0.0.1/v5/").expect("static URL"))
    }

    pub fn router(&self) -> Router {
        let sb = self.inner.clone();
        let api = Router::new()
            .route("/v5/user_account", get(boards::user_account))
            .route(
                "/v5/boards",
                get(boards::list_boards).post(boards::create_board),
            )
            .route("/v5/boards/{board_id}", get(boards::get_board))
            .route(
                "/v5/boards/{board_id}/sections",
                get(boards::list_sections).post(boards::create_section),
            )
            .route("/v5/boards/{board_id}/pins", get(pins::board_pins))
            .route("/v5/pins", post(pins::create_pin))
            .route("/v5/pins/analytics", get(analytics::pins_analytics))
            .route("/v5/pins/{pin_id}/analytics", get(analytics::pin_analytics))
            .route(
                "/v5/pins/{pin_id}",
                get(pins::get_pin)
                    .patch(pins::update_pin)
                    .delete(pins::delete_pin),
            )
            .route_layer(axum::middleware::from_fn_with_state(
                sb.clone(),
                faults::api_guard,
            ));
        api.route("/v5/oauth/token", post(auth::token))
            .route("/oauth/", get(consent::page).post(consent::decide))
            .fallback(|| async {
                validation::SbError::new(
                    axum::http::StatusCode::NOT_FOUND,
                    404,
                    "This endpoint does not exist in the pinbridge sandbox.",
                )
            })
            .layer(axum::middleware::from_fn_with_state(
                sb.clone(),
                record::common,
            ))
            .with_state(sb)
    }

    /// Serve on `listener` until `shutdown` is cancelled.
    pub fn spawn(&self, listener: TcpListener, shutdown: CancellationToken) -> JoinHandle<()> {
        let router = self.router();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "Sandbox server stopped.");
            }
        })
    }

    /// A new user with an access and a refresh token (scope [`DEFAULT_SCOPE`]).
    pub fn create_user(&self, username: &str) -> SandboxUser {
        let id = self.inner.lock().add_user(username);
        self.authorize(&id, username, DEFAULT_SCOPE)
    }

    /// New tokens for an existing user granting `scope` (comma-separated), as if the user
    /// authorized the app again; the user's boards and Pins stay.
    pub fn reauthorize(&self, user: &SandboxUser, scope: &str) -> SandboxUser {
        self.authorize(&user.id, &user.username, scope)
    }

    fn authorize(&self, id: &str, username: &str, scope: &str) -> SandboxUser {
        let sb = &self.inner;
        let now = sb.clock.now_ms();
        let (access_token, refresh) = sb.lock().issue_tokens(
            id,
            scope,
            now,
            sb.access_ttl_ms(),
            Some(sb.refresh_ttl_ms()),
        );
        SandboxUser {
            id: id.to_string(),
            username: username.to_string(),
            access_token,
            refresh_token: refresh.unwrap_or_default(),
        }
    }

    /// A board owned by `user` (the existing one if the name is taken); returns its id.
    pub fn create_board(&self, user: &SandboxUser, name: &str) -> String {
        self.create_board_with_privacy(user, name, "PUBLIC")
    }

    /// Like [`Self::create_board`], with `privacy` (`PUBLIC`, `PROTECTED`, `SECRET`).
    pub fn create_board_with_privacy(
        &self,
        user: &SandboxUser,
        name: &str,
        privacy: &str,
    ) -> String {
        let now = self.inner.clock.now_ms();
        let mut st = self.inner.lock();
        if let Some(b) = st
            .boards
            .iter()
            .find(|b| b.owner == user.id && b.name == name)
        {
            return b.id.to_string();
        }
        let id = st.next_id();
        st.boards.push(state::BoardRec {
            id,
            owner: user.id.clone(),
            name: name.to_string(),
            description: None,
            privacy: privacy.to_string(),
            created_at: now,
        });
        st.stats.boards_created += 1;
        id.to_string()
    }

    /// An authorization code for `user`, as `GET /oauth/` would issue.
    pub fn issue_code(&self, user: &SandboxUser, redirect_uri: &str) -> String {
        self.inner.issue_code(&user.id, redirect_uri, DEFAULT_SCOPE)
    }

    /// Every Pin, oldest first.
    pub fn pins(&self) -> Vec<SandboxPin> {
        let st = self.inner.lock();
        st.pins
            .iter()
            .map(|p| {
                let section = p.section_id.and_then(|s| st.section(s));
                SandboxPin {
                    id: p.id.to_string(),
                    owner: st.username(&p.owner),
                    board_id: p.board_id.to_string(),
                    board_name: st
                        .board(p.board_id)
                        .map(|b| b.name.clone())
                        .unwrap_or_default(),
                    section_id: p.section_id.map(|s| s.to_string()),
                    section_name: section.map(|s| s.name.clone()),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    link: p.link.clone(),
                    alt_text: p.alt_text.clone(),
                    image_url: p.image_url.clone(),
                    created_at_ms: p.created_at,
                }
            })
            .collect()
    }

    /// Make every issued access token expired (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let now = self.inner.clock.now_ms();
        for rec in self.inner.lock().access.values_mut() {
            rec.expires_at = rec.expires_at.min(now);
        }
    }

    /// Replace the injected faults (a new `burst_429` count starts now).
    pub fn set_faults(&self, faults: Faults) {
        let mut st = self.inner.lock();
        st.burst_left = faults.burst_429;
        st.analytics_burst_left = faults.analytics_burst_429;
        st.faults = faults;
    }

    pub fn stats(&self) -> SandboxStats {
        self.inner.lock().stats.clone()
    }

    /// Start keeping every request and answer (see [`Exchange`]).
    pub fn start_recording(&self) {
        self.inner.lock().recording.get_or_insert_with(Vec::new);
    }

    /// What was recorded so far (recording continues).
    pub fn take_recording(&self) -> Vec<Exchange> {
        self.inner
            .lock()
            .recording
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }
}
