//! Shared pieces of the webhook tests: the webhook router over the real sled store (with a
//! switch that makes it fail), served on 127.0.0.1:0, the signed vectors, and signers.

mod store;
pub use store::{FailSwitch, open_store};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pinbridge::clock::{ManualClock, SharedClock};
use pinbridge::ingest::{Ingest, IngestConfig, RoutePolicy};
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::sources::webhook::settings::Algorithm;
use pinbridge::sources::webhook::verify::keys::{decode_whsec, sign};
use pinbridge::sources::webhook::{WebhookSettings, WebhookSources, router};
use pinbridge::store::*;
use pinbridge::sync::route::{RouteRule, Routes, When};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// A running receiver: real axum server on 127.0.0.1:0, in-memory store, manual clock.
pub struct Harness {
    pub base: String,
    pub store: Arc<FailSwitch>,
    pub clock: ManualClock,
    pub sources: Arc<WebhookSources>,
    pub client: reqwest::Client,
    cancel: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Harness {
    pub async fn start(sources: Vec<(&str, WebhookSettings)>, now_ms: i64) -> Harness {
        Self::start_with(sources, now_ms, |s| s).await
    }

    pub async fn start_with(
        sources: Vec<(&str, WebhookSettings)>,
        now_ms: i64,
        customize: impl FnOnce(WebhookSources) -> WebhookSources,
    ) -> Harness {
        let (inner, dir) = open_store();
        Self::start_over(inner, Some(dir), sources, now_ms, customize).await
    }

    /// [`Harness::start_with`] over a given store (`dir` lives as long as the harness).
    pub async fn start_over(
        inner: Arc<dyn Store>,
        dir: Option<tempfile::TempDir>,
        sources: Vec<(&str, WebhookSettings)>,
        now_ms: i64,
        customize: impl FnOnce(WebhookSources) -> WebhookSources,
    ) -> Harness {
        let store = Arc::new(FailSwitch {
            inner,
            failing: AtomicBool::new(false),
            _dir: dir,
        });
        let clock = ManualClock::new(now_ms);
        let shared: SharedClock = Arc::new(clock.clone());
        let routes = Routes::new(vec![RouteRule {
            name: "all".into(),
            source: "*".into(),
            account: "main".into(),
            board: "Board".into(),
            section: None,
            when: When::default(),
        }]);
        let ingest = Ingest::new(
            store.clone(),
            shared.clone(),
            IngestConfig {
                routes,
                on_change: HashMap::new(),
                // Removals at the source delete Pins, so the removal tests see delete jobs.
                policies: HashMap::from([(
                    "all".to_string(),
                    RoutePolicy {
                        on_change: None,
                        on_delete: pinbridge::settings::OnDelete::Delete,
                    },
                )]),
            },
            Arc::new(tokio::sync::Notify::new()),
        );
        let list = sources
            .into_iter()
            .map(|(id, s)| (SourceId::new(id), s))
            .collect();
        let hooks = WebhookSources::new(list, ingest, shared)
            .unwrap_or_else(|p| panic!("config problems: {p:?}"));
        let hooks = Arc::new(customize(hooks));
        let (base, cancel) = serve(router(hooks.clone())).await;
        Harness {
            base,
            store,
            clock,
            sources: hooks,
            client: reqwest::Client::new(),
            cancel,
        }
    }

    pub async fn item(&self, source: &str, key: &str) -> Option<StoredItem> {
        self.store
            .item(&SourceId::new(source), &DedupKey(key.to_string()))
            .await
            .unwrap()
    }

    pub async fn items(&self) -> Vec<StoredItem> {
        let filter = ItemFilter {
            source: None,
            limit: 100_000,
        };
        self.store.items(filter).await.unwrap()
    }

    pub async fn job_count(&self) -> usize {
        let filter = JobFilter {
            limit: 100_000,
            ..JobFilter::default()
        };
        self.store.jobs(filter).await.unwrap().len()
    }

    pub fn url(&self, source: &str) -> String {
        format!("{}/hooks/{source}", self.base)
    }

    /// POST `body` with `headers`; returns status, headers and the JSON answer.
    pub async fn post(
        &self,
        source: &str,
        headers: &[(String, String)],
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut request = self.client.post(self.url(source)).body(body);
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let response = request
            .send()
            .await
            .expect("request reaches the test server");
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            retry_after,
            text,
            json,
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn error(&self) -> &str {
        self.json["error"].as_str().unwrap_or("")
    }
    pub fn answer(&self) -> &str {
        self.json["status"].as_str().unwrap_or("")
    }
    pub fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or("")
    }
}

/// Serve a router on 127.0.0.1:0 until the token is cancelled.
pub async fn serve(app: axum::Router) -> (String, CancellationToken) {
    let cancel = CancellationToken::new();
    let addr = super::feed_server::serve_until(app, &cancel).await;
    (format!("http://{addr}"), cancel)
}

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/webhooks")
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// One entry of signed-vectors.json.
#[derive(Clone, Debug)]
pub struct Vector {
    pub name: String,
    pub secret: String,
    pub other_secret: Option<String>,
    pub body: Vec<u8>,
    pub now_ms: i64,
    pub headers: Vec<(String, String)>,
}

impl Vector {
    pub fn with_header(&self, name: &str, value: &str) -> Vec<(String, String)> {
        let mut headers: Vec<_> = self
            .headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
            .cloned()
            .collect();
        headers.push((name.to_string(), value.to_string()));
        headers
    }
    pub fn without_header(&self, name: &str) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case(name))
            .cloned()
            .collect()
    }
}

pub fn vectors() -> Vec<Vector> {
    let doc: Value = serde_json::from_slice(&fixture("signed-vectors.json")).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let body = match (v.get("body_inline"), v.get("body_file")) {
                (Some(Value::String(b)), _) => b.clone().into_bytes(),
                (_, Some(Value::String(f))) => fixture(f),
                _ => panic!("vector without body"),
            };
            Vector {
                name: v["name"].as_str().unwrap().into(),
                secret: v["secret"].as_str().unwrap().into(),
                other_secret: v
                    .get("other_valid_secret")
                    .and_then(|s| s.as_str())
                    .map(Into::into),
                body,
                now_ms: v
                    .get("now_unix")
                    .and_then(|n| n.as_i64())
                    .unwrap_or(1_768_471_203)
                    * 1000,
                headers: v["headers"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect(),
            }
        })
        .collect()
}

pub fn vector(name: &str) -> Vector {
    vectors().into_iter().find(|v| v.name == name).unwrap()
}

/// base64(HMAC-SHA256(secret, body)): Shopify, WooCommerce, WP Webhooks.
pub fn sign_base64(secret: &str, body: &[u8]) -> String {
    STANDARD.encode(sign(Algorithm::Sha256, secret.as_bytes(), &[body]))
}

/// Standard Webhooks headers for `body`.
pub fn sign_standard(secret: &str, id: &str, ts: i64, body: &[u8]) -> Vec<(String, String)> {
    let key = decode_whsec(secret).unwrap();
    let ts = ts.to_string();
    let mac = sign(
        Algorithm::Sha256,
        &key,
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), ts),
        (
            "webhook-signature".into(),
            format!("v1,{}", STANDARD.encode(mac)),
        ),
    ]
}

pub fn shopify_settings(secret: &str) -> WebhookSettings {
    let mut s = WebhookSettings::new(pinbridge::sources::webhook::Preset::Shopify, &[secret]);
    s.storefront_url = Some("https://shop.example.com".into());
    s
}

/// A Standard Webhooks source with `secret`, mapping `/id`, `/title` and `/image`.
pub fn standard_settings(secret: &str) -> WebhookSettings {
    settings(&format!(
        r#"preset = "standard-webhooks"
           secret = "{secret}"
           mapping = {{ id = "/id", title = "/title", image = "/image" }}"#
    ))
}

/// Settings from TOML, as the config loader would produce them.
pub fn settings(toml_text: &str) -> WebhookSettings {
    let table: toml::Table = toml::from_str(toml_text).unwrap();
    let mut problems = Vec::new();
    let s = pinbridge::config::parse_section(table, "test", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    s.unwrap()
}
