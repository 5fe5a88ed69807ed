//! The in-process front door: the real App on loopback over a real sled store, built from a
//! config file (see [`super::config`] for the pieces), with typed helpers for what tests do
//! to it: admin API calls with the token, signed webhooks, stored items, a clean stop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pinbridge::app::App;
use pinbridge::clock::{SharedClock, SystemClock};
use pinbridge::config::Config;
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::live::Live;
use pinbridge::store::StoredItem;
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::config::ADMIN;
use super::wait::DEADLINE;

/// Open the sled store, retrying briefly: after a stop, sled's threads let go of the lock a
/// moment after the drop.
pub async fn open_store(dir: &Path) -> SledStore {
    let start = Instant::now();
    loop {
        match SledStore::open_async(dir.to_path_buf(), SledOptions::default(), None).await {
            Ok(store) => return store,
            Err(e) if start.elapsed() < DEADLINE => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot open the store: {e}"),
        }
    }
}

/// A running App started from a config file.
pub struct TestApp {
    pub base: String,
    pub live: Arc<Live>,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Build and run the App from the file at `path` on a fresh port, store at `store_dir`.
pub async fn spawn_app(path: &Path, store_dir: &Path) -> TestApp {
    spawn_app_with_clock(path, store_dir, Arc::new(SystemClock)).await
}

/// [`spawn_app`] on `clock` (a `ManualClock` moves the service's time without sleeping).
pub async fn spawn_app_with_clock(path: &Path, store_dir: &Path, clock: SharedClock) -> TestApp {
    let config = Config::load(path).expect("valid config");
    let store: Arc<dyn Store> = Arc::new(open_store(store_dir).await);
    let app = App::build_with_store(&config, clock, store.clone())
        .await
        .expect("built")
        .with_config_file(path.to_path_buf());
    let live = app.live().clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run(listener, stop.clone()));
    TestApp {
        base,
        live,
        store,
        client: reqwest::Client::new(),
        stop,
        task,
    }
}

impl TestApp {
    /// Stop the App and wait for it to close its store.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().expect("clean stop");
    }

    /// An admin API call (`/api/v1<path>`) with the admin token: status and JSON.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        super::admin::api(&self.client, &self.base, ADMIN, method, path, body).await
    }

    /// The stored item `key` of `source`, if any.
    pub async fn item(&self, source: &str, key: &DedupKey) -> Option<StoredItem> {
        self.store
            .item(&SourceId::new(source), key)
            .await
            .expect("the store answers")
    }

    /// POST one signed Shopify product delivery to `/hooks/<hook>`; the status, or `None`
    /// when the request failed.
    pub async fn send_product(&self, hook: &str, secret: &str, id: u64) -> Option<u16> {
        super::shopify::send(&self.client, &self.base, hook, secret, id).await
    }
}

/// What [`spawn_app`] starts from: a sandbox Pinterest on loopback (with one user), and a temp
/// dir for the config file and the store.
pub struct AppSetup {
    /// Stops the sandbox.
    pub stop: CancellationToken,
    /// The sandbox's API base and its user's access token.
    pub api: String,
    pub token: String,
    /// Holds the config file and the store; removed when the setup is dropped.
    _dir: tempfile::TempDir,
    /// Where the config file goes (`pinbridge.toml` in the temp dir).
    pub path: PathBuf,
    pub store_dir: PathBuf,
}

impl AppSetup {
    /// Start the sandbox and make the temp dir; nothing is written yet.
    pub async fn start() -> AppSetup {
        let stop = CancellationToken::new();
        let (api, token) = super::pinterest::sandbox(&stop).await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pinbridge.toml");
        let store_dir = dir.path().join("store");
        AppSetup {
            stop,
            api,
            token,
            _dir: dir,
            path,
            store_dir,
        }
    }

    /// `[server]`, `[store]`, `[pinterest]` and one account for this sandbox and store;
    /// sources and routes are appended (see [`super::config`]).
    pub fn head(&self) -> String {
        super::config::head("127.0.0.1:0", &self.store_dir, &self.api, &self.token)
    }

    /// Write the config file and start the App from it.
    pub async fn spawn_app(&self, config: &str) -> TestApp {
        std::fs::write(&self.path, config).unwrap();
        spawn_app(&self.path, &self.store_dir).await
    }

    /// [`AppSetup::spawn_app`] on `clock`.
    pub async fn spawn_app_with_clock(&self, config: &str, clock: SharedClock) -> TestApp {
        std::fs::write(&self.path, config).unwrap();
        spawn_app_with_clock(&self.path, &self.store_dir, clock).await
    }
}
