//! Harness for the live configuration tests: the real App on loopback over a real sled store,
//! started from a real config file, with a loopback feed server and a Pinterest sandbox.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use hmac::{Hmac, Mac};
use pinbridge::app::App;
use pinbridge::clock::SystemClock;
use pinbridge::config::Config;
use pinbridge::live::Live;
use pinbridge::store::Store;
use pinbridge::store::sled::{SledOptions, SledStore};
use serde_json::Value;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const ADMIN: &str = "live-admin-token-7d31c0a9e4b25f8601";
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A feed on loopback that counts its fetches.
pub struct FeedServer {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
}

impl FeedServer {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub async fn feed_server(items: usize) -> FeedServer {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let mut entries = String::new();
    for i in 0..items {
        entries.push_str(&format!(
            "<item><title>Post {i}</title><link>https://blog.example/p/{i}</link><guid>post-{i}</guid>\
             <enclosure url=\"https://blog.example/img/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>"
        ));
    }
    let body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog</title>\
         <link>https://blog.example/</link><description>d</description>{entries}</channel></rss>"
    );
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            async move { ([("content-type", "application/rss+xml")], body) }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    FeedServer { url, hits }
}

/// `[server]`, `[store]`, `[pinterest]` and one account; sources and routes are appended.
pub fn head(listen: &str, store: &Path, api: &str, token: &str) -> String {
    format!(
        r#"
[server]
listen = "{listen}"
admin_token = "{ADMIN}"
shutdown_grace = "5s"

[store]
path = "{store}"

[pinterest]
api_base = "{api}"
timeout = "2s"

[sync]
backoff_base = "1h"

[[accounts]]
name = "main"
access_token = "{token}"
"#,
        store = store.display()
    )
}

/// A Shopify webhook source entry with these secrets.
pub fn shop_source(id: &str, secrets: &[&str]) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        r#"
[[sources]]
id = "{id}"
kind = "webhook"
preset = "shopify"
secret = [{}]
storefront_url = "https://shop.example"
"#,
        secrets.join(", ")
    )
}

pub fn feed_source(id: &str, url: &str) -> String {
    format!(
        r#"
[[sources]]
id = "{id}"
kind = "feed"
url = "{url}"
allow_private = true
backfill = "all"
"#
    )
}

pub fn route(source: &str, board: &str) -> String {
    format!(
        r#"
[[routes]]
source = "{source}"
board = "{board}"
create_missing = true
"#
    )
}

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
pub struct Running {
    pub base: String,
    pub live: Arc<Live>,
    pub store: Arc<dyn Store>,
    pub client: reqwest::Client,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// Build and run the App from the file at `path` on a fresh port, store at `store_dir`.
pub async fn run(path: &Path, store_dir: &Path) -> Running {
    let config = Config::load(path).expect("valid config");
    let store: Arc<dyn Store> = Arc::new(open_store(store_dir).await);
    let app = App::build_with_store(&config, Arc::new(SystemClock), store.clone())
        .await
        .expect("built")
        .with_config_file(path.to_path_buf());
    let live = app.live().clone();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let task = tokio::spawn(app.run(listener, stop.clone()));
    Running {
        base,
        live,
        store,
        client: reqwest::Client::new(),
        stop,
        task,
    }
}

impl Running {
    /// Stop the App and wait for it to close its store.
    pub async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().expect("clean stop");
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(ADMIN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

pub fn product(id: u64) -> String {
    format!(
        r#"{{"id":{id},"title":"Mug {id}","body_html":"<p>Mug.</p>","handle":"mug-{id}","status":"active","published_at":"2026-11-20T10:00:00-05:00","variants":[{{"id":1,"price":"28.00"}}],"images":[{{"id":2,"position":1,"src":"https://cdn.shop.example/{id}.jpg"}}],"image":{{"id":2,"src":"https://cdn.shop.example/{id}.jpg"}}}}"#
    )
}

/// POST one signed Shopify product delivery; the status, or `None` when the request failed.
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    hook: &str,
    secret: &str,
    id: u64,
) -> Option<u16> {
    let body = product(id);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let answer = client
        .post(format!("{base}/hooks/{hook}"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", "live.myshopify.com")
        .header("x-shopify-webhook-id", format!("delivery-{id}"))
        .body(body)
        .send()
        .await
        .ok()?;
    Some(answer.status().as_u16())
}

/// Poll `check` until it holds; panics with `what` after the deadline.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
