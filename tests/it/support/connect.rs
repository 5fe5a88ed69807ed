//! "Connect Pinterest account" without the engine: the real service router on loopback with
//! the connect flow wired to a sandbox Pinterest, over a given store; and a "browser" (reqwest
//! with its cookies kept by hand) that signs in, clicks Connect, lets the sandbox approve and
//! follows the redirect back.

use std::collections::HashMap;
use std::sync::Arc;

use pinbridge::clock::{ManualClock, SharedClock};
use pinbridge::config::AccountConfig;
use pinbridge::http::connect::{Connect, ConnectAccount};
use pinbridge::http::{self, AdminToken, HttpState};
use pinbridge::pinterest::TokenManager;
use pinbridge::pinterest::vault::Vault;
use pinbridge::store::Store;
use pinbridge::sync::tokens::{StoreTokens, origin_of};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::ops::{ADMIN, T0};
use super::pinterest::{Env, user_tokens};

/// A token key for tests (32 bytes, base64).
pub const TOKEN_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

pub fn vault() -> Arc<Vault> {
    Arc::new(
        Vault::from_env(&|name| (name == "PINBRIDGE_TOKEN_KEY").then(|| TOKEN_KEY.to_string()))
            .unwrap()
            .unwrap(),
    )
}

/// One pinbridge server (router only) with account `main`.
pub struct Server {
    pub base: String,
    pub state: HttpState,
    pub clock: ManualClock,
    /// `main`'s running token manager (starts with a token the sandbox never issued).
    pub tokens: Arc<TokenManager>,
    stop: CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serve the router over `store`, connecting through `sandbox`. With `public_url` the server's
/// own address is its public URL (the redirect URI Pinterest sends the browser to).
pub async fn serve(store: Arc<dyn Store>, sandbox: &Env, public_url: bool) -> Server {
    serve_behind(store, sandbox, public_url.then_some(None)).await
}

/// [`serve`] with `Some(Some(url))` as its public URL (replicas behind one address),
/// `Some(None)` for its own address, `None` for none.
pub async fn serve_behind(
    store: Arc<dyn Store>,
    sandbox: &Env,
    public_url: Option<Option<String>>,
) -> Server {
    let manual = ManualClock::new(T0);
    let clock: SharedClock = Arc::new(manual.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut stale = user_tokens(&sandbox.user);
    stale.access_token = SecretString::from("never-issued");
    let account = AccountConfig {
        name: "main".into(),
        access_token: None,
        refresh_token: None,
        writes_per_minute: 100,
        daily_cap: 200,
    };
    let manager = sandbox.manager(stale);
    // On a shared store replicas share refreshed (and newly connected) tokens, as in `serve`.
    let tokens = Arc::new(if store.shared() {
        manager.shared_with(Arc::new(StoreTokens::new(
            store.clone(),
            vault(),
            &account,
            clock.clone(),
        )))
    } else {
        manager
    });
    let mut state = HttpState::new(store, clock);
    state.accounts = Arc::new(vec!["main".to_string()]);
    state.admin = Some(Arc::new(AdminToken::new(&SecretString::from(ADMIN))));
    state.public_url = public_url.map(|url| url.unwrap_or(format!("{base}/")).parse().unwrap());
    state.connect = Some(Arc::new(Connect {
        credentials: Some(sandbox.creds()),
        authorize_base: sandbox.base.join("/oauth/").unwrap(),
        token_url: sandbox.token_url(),
        http: reqwest::Client::new(),
        vault: Some(vault()),
        accounts: vec![ConnectAccount {
            name: "main".into(),
            scopes: vec!["user_accounts:read", "boards:read", "pins:write"],
            origin: origin_of(&account),
            tokens: Some(tokens.clone()),
        }],
    }));
    let router = http::router(state.clone(), axum::Router::new());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .unwrap()
    });
    Server {
        base,
        state,
        clock: manual,
        tokens,
        stop,
    }
}

/// A browser: its cookies, by name, kept by hand (no redirects followed on its own).
#[derive(Default)]
pub struct Browser {
    pub cookies: HashMap<String, String>,
    http: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

impl Browser {
    pub fn new() -> Browser {
        Browser {
            cookies: HashMap::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookie_header())
        };
        let resp = request.send().await.unwrap();
        for value in resp.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_string(), value.to_string());
        }
        Answer {
            status: resp.status().as_u16(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        let request = self.http.get(url);
        self.send(request).await
    }

    /// A form POST from `server`'s own page (its Origin).
    pub async fn post(&mut self, server: &Server, path: &str, form: &[(&str, &str)]) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", server.base))
            .header("origin", &server.base)
            .form(form);
        self.send(request).await
    }

    pub async fn sign_in(&mut self, server: &Server) {
        let answer = self.post(server, "/ui/login", &[("token", ADMIN)]).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
    }

    /// Click "Connect Pinterest account" for `main`: the authorize URL it was sent to.
    pub async fn click_connect(&mut self, server: &Server) -> String {
        let answer = self.post(server, "/ui/accounts/main/connect", &[]).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        answer.location.expect("a redirect to Pinterest")
    }

    /// Let the sandbox decide (`allow` or `deny`): the callback URL it sends the browser to.
    pub async fn decide(&mut self, authorize_url: &str, decision: &str) -> String {
        let url = url::Url::parse(authorize_url).unwrap();
        let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        form.push(("decision".into(), decision.into()));
        let request = self.http.post(url.join("/oauth/").unwrap()).form(&form);
        let answer = self.send(request).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        answer.location.expect("a redirect back")
    }
}
