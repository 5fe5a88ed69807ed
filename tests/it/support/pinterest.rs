//! Shared setup for the Pinterest client and sandbox tests: a sandbox on 127.0.0.1:0, a user,
//! and clients wired to it.

use std::sync::Arc;

use pinbridge::clock::{ManualClock, SharedClock};
use pinbridge::pinterest::model::{MediaSource, PinCreate};
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig, SandboxUser};
use pinbridge::pinterest::{Credentials, PinterestClient, TokenManager, Tokens};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use url::Url;

/// Start of every test clock: 2025-01-01T00:00:00Z.
pub const T0: i64 = 1_735_689_600_000;

pub struct Env {
    pub sandbox: Sandbox,
    pub base: Url,
    pub user: SandboxUser,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A sandbox (on a manual clock) with one user, `alice`.
pub async fn start(config: SandboxConfig) -> Env {
    let clock = ManualClock::new(T0);
    let shared: SharedClock = Arc::new(clock.clone());
    let sandbox = Sandbox::with_clock(config, shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = Sandbox::api_base(listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    sandbox.spawn(listener, shutdown.clone());
    let user = sandbox.create_user("alice");
    Env {
        sandbox,
        base,
        user,
        clock,
        http: reqwest::Client::new(),
        shutdown,
    }
}

pub fn user_tokens(user: &SandboxUser) -> Tokens {
    Tokens {
        access_token: SecretString::from(user.access_token.clone()),
        refresh_token: Some(SecretString::from(user.refresh_token.clone())),
        access_expires_at: None,
        refresh_expires_at: None,
        scope: None,
    }
}

impl Env {
    pub fn token_url(&self) -> Url {
        self.base.join("oauth/token").unwrap()
    }

    pub fn creds(&self) -> Credentials {
        Credentials {
            client_id: self.sandbox.config().client_id.clone(),
            client_secret: self.sandbox.config().client_secret.clone(),
        }
    }

    pub fn manager(&self, tokens: Tokens) -> TokenManager {
        TokenManager::new(
            self.token_url(),
            Some(self.creds()),
            tokens,
            self.http.clone(),
            Arc::new(self.clock.clone()),
        )
    }

    pub fn client_with(&self, manager: TokenManager) -> PinterestClient {
        PinterestClient::new(&self.base, self.http.clone(), Arc::new(manager))
    }

    /// A client for `alice` that can refresh.
    pub fn client(&self) -> PinterestClient {
        self.client_with(self.manager(user_tokens(&self.user)))
    }

    /// A raw request with alice's bearer token.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(self.base.join(path).unwrap())
            .bearer_auth(&self.user.access_token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.base.join(path).unwrap())
            .bearer_auth(&self.user.access_token)
    }
}

pub fn pin(board_id: &str, title: &str) -> PinCreate {
    PinCreate {
        board_id: board_id.to_string(),
        board_section_id: None,
        title: Some(title.to_string()),
        description: Some(format!("About {title}")),
        link: Some(format!("https://shop.example/{}", title.replace(' ', "-"))),
        alt_text: None,
        media_source: MediaSource::ImageUrl {
            url: "https://img.example/a.jpg".to_string(),
        },
    }
}

/// A quiet sandbox without a write quota.
pub fn unlimited() -> SandboxConfig {
    SandboxConfig {
        write_quota_per_minute: None,
        ..SandboxConfig::default()
    }
}

/// Serve `sandbox` on a loopback port until `shutdown`; returns its API base
/// (`http://127.0.0.1:<port>/v5/`).
pub async fn serve_sandbox(sandbox: &Sandbox, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, shutdown.clone());
    api
}

/// A sandbox Pinterest on loopback with one user; returns the API base and the access token.
pub async fn sandbox(stop: &CancellationToken) -> (String, String) {
    let sandbox = Sandbox::new(SandboxConfig::default());
    let user = sandbox.create_user("ops");
    let base = serve_sandbox(&sandbox, stop).await;
    (base, user.access_token)
}
