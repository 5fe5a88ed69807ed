//! Shared harness for the ops tests: the real HTTP router on loopback over the real sled store.

use std::sync::Arc;

use pinbridge::clock::{ManualClock, SharedClock};
use pinbridge::http::{self, AdminToken, HttpState, SourceInfo};
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{IngestPlan, Target};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub const T0: i64 = 1_790_000_000_000;
/// 32 characters or more, as `server.admin_token` requires.
pub const ADMIN: &str = "admin-token-for-tests-9f2c41d07be35a86";

pub struct Server {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub state: HttpState,
    pub client: reqwest::Client,
    /// The server's clock: tests move it to show times and take samples.
    pub clock: ManualClock,
    pub stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Serve the service router (no webhooks) over a fresh store. `accounts` are configured names.
pub async fn start(accounts: &[&str], admin: bool) -> Server {
    start_with(accounts, admin.then_some(ADMIN)).await
}

/// [`start`] with `admin` as the configured admin token (even one validation would refuse).
pub async fn start_with(accounts: &[&str], admin: Option<&str>) -> Server {
    let blog = SourceInfo {
        id: "blog".into(),
        kind: "feed".into(),
        paused: false,
    };
    start_serving(accounts, admin, vec![blog]).await
}

/// [`start`] with these configured sources instead of the one feed `blog`. Every account
/// gets the default limits (100 writes a minute, 200 Pins a day) and a configured token.
pub async fn start_serving(
    accounts: &[&str],
    admin: Option<&str>,
    sources: Vec<SourceInfo>,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let manual = ManualClock::new(T0);
    let clock: SharedClock = Arc::new(manual.clone());
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open(
            &dir.path().join("db"),
            SledOptions::default(),
            Some(clock.clone()),
        )
        .unwrap(),
    );
    let mut state = HttpState::new(store.clone(), clock);
    state.accounts = Arc::new(accounts.iter().map(|a| a.to_string()).collect());
    state.sources = Arc::new(sources);
    let limits = http::AccountLimits {
        writes_per_minute: 100,
        daily_cap: 200,
        configured_token: true,
    };
    state.account_limits = Arc::new(accounts.iter().map(|a| (a.to_string(), limits)).collect());
    state.admin = admin.map(|token| Arc::new(AdminToken::new(&SecretString::from(token))));
    state.metrics = pinbridge::telemetry::metrics_handle();
    let router = http::router(state.clone(), axum::Router::new());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        // With the client's address, which the sign-in backoff is kept by.
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .unwrap()
    });
    Server {
        base,
        store,
        state,
        client: reqwest::Client::new(),
        clock: manual,
        stop,
        _dir: dir,
    }
}

pub fn item(source: &str, key: &str) -> Item {
    let mut item = Item::new(SourceId::new(source), DedupKey::new("guid", key));
    item.title = format!("Title {key}");
    item.link = Some(format!("https://example.com/{key}"));
    item.image_url = Some(format!("https://example.com/{key}.jpg"));
    item
}

pub fn plan(board: &str) -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "routes[0]".into(),
            account: "main".into(),
            board: board.into(),
            section: None,
        }],
        ..IngestPlan::default()
    }
}

impl Server {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
    }

    /// Ingest `key` and run its job to `dead` (with `error`) or `done` (pin `error` as id).
    pub async fn job_ending(&self, key: &str, dead: Option<&str>, pin: Option<&str>) -> String {
        self.store
            .ingest(&item("blog", key), plan("Board"), T0)
            .await
            .unwrap();
        let lease = self
            .store
            .claim(1, 60_000, T0)
            .await
            .unwrap()
            .pop()
            .expect("a job to claim");
        if let Some(error) = dead {
            self.store.dead(&lease, error, T0).await.unwrap();
        } else if let Some(pin) = pin {
            self.store.complete(&lease, pin, T0).await.unwrap();
        }
        lease.job.id.0
    }
}
