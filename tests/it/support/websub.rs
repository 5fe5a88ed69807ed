//! The WebSub world: a feed and a hub stand-in on loopback (the hub records subscription
//! requests; the test then plays the hub: verification of intent, signed pushes), pinbridge's
//! callback router, the real sled store and a ManualClock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use pinbridge::clock::ManualClock;
use pinbridge::item::SourceId;
use pinbridge::sources::feed::FeedSource;
use pinbridge::sources::websub::{Maintained, WebSub, WebSubSettings};
use url::Url;

use super::feed::{Sled, ingest, sled_store, source};
use super::feed_server::serve;

pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// An RSS document with the given (guid, title) items, newest first, each with an image.
pub fn rss(hub_in_doc: Option<&str>, items: &[(&str, &str)]) -> String {
    let links = hub_in_doc.map_or(String::new(), |hub| {
        format!(
            r#"<atom:link rel="hub" href="{hub}"/><atom:link rel="self" href="https://shed.example/rss"/>"#
        )
    });
    let items: String = items
        .iter()
        .enumerate()
        .map(|(i, (guid, title))| {
            format!(
                r#"<item><title>{title}</title><link>https://shed.example/p/{guid}</link><guid>{guid}</guid>
                <pubDate>Mon, 0{} Apr 2024 10:00:00 GMT</pubDate>
                <media:content url="https://cdn.shed.example/{guid}.jpg" type="image/jpeg"/></item>"#,
                9 - i
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Shed</title><link>https://shed.example/</link>{links}{items}</channel></rss>"#
    )
}

#[derive(Clone, Default)]
pub struct Shared {
    /// The feed body served.
    pub body: Arc<Mutex<String>>,
    /// `Link` header values sent with the feed.
    pub links: Arc<Mutex<Vec<String>>>,
    /// Every form the hub received.
    pub requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    pub hub_status: Arc<Mutex<u16>>,
}

pub struct World {
    pub shared: Shared,
    pub feed_url: String,
    pub hub_url: String,
    pub public: Url,
    pub websub: Arc<WebSub>,
    pub source: FeedSource,
    pub store: Sled,
    pub clock: ManualClock,
    pub ingest: pinbridge::ingest::Ingest,
    pub http: reqwest::Client,
}

pub async fn world(links_in_headers: bool) -> World {
    world_with(links_in_headers, None).await
}

/// A world whose subscriber seals its secrets with `vault`.
pub async fn world_with(
    links_in_headers: bool,
    vault: Option<Arc<pinbridge::pinterest::vault::Vault>>,
) -> World {
    let shared = Shared::default();
    *shared.hub_status.lock().unwrap() = 202;
    let feed =
        Router::new()
            .route(
                "/rss",
                get(|State(s): State<Shared>| async move {
                    let mut headers = HeaderMap::new();
                    for l in s.links.lock().unwrap().iter() {
                        headers.append("link", l.parse().unwrap());
                    }
                    (headers, s.body.lock().unwrap().clone())
                }),
            )
            .route(
                "/hub",
                post(
                    |State(s): State<Shared>,
                     axum::Form(form): axum::Form<HashMap<String, String>>| async move {
                        s.requests.lock().unwrap().push(form);
                        StatusCode::from_u16(*s.hub_status.lock().unwrap()).unwrap()
                    },
                ),
            )
            .with_state(shared.clone());
    let addr = serve(feed).await;
    let feed_url = format!("http://{addr}/rss");
    let hub_url = format!("http://{addr}/hub");
    if links_in_headers {
        shared.links.lock().unwrap().push(format!(
            r#"<{hub_url}>; rel="hub", <https://shed.example/topic>; rel="self""#
        ));
        *shared.body.lock().unwrap() = rss(None, &[("a", "Alpha")]);
    } else {
        *shared.body.lock().unwrap() = rss(Some(&hub_url), &[("a", "Alpha")]);
    }
    let store = sled_store().await;
    let (ingest, clock) = ingest(store.store.clone(), "shed");
    let source = source("shed", &feed_url, |_| {});
    // pinbridge's own server: bind first so public_url is known.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let websub = Arc::new(
        WebSub::new(
            public.clone(),
            std::slice::from_ref(&source),
            ingest.clone(),
            WebSubSettings::default(),
        )
        .with_vault(vault),
    );
    let router = pinbridge::sources::websub::router(websub.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    World {
        shared,
        feed_url,
        hub_url,
        public,
        websub,
        source,
        store,
        clock,
        ingest,
        http: reqwest::Client::new(),
    }
}

impl World {
    pub fn id(&self) -> SourceId {
        SourceId::new("shed")
    }
    /// The tokenless callback URL subscriptions used before callbacks carried a token.
    pub fn legacy_callback(&self) -> String {
        format!("{}websub/shed", self.public)
    }
    /// The callback URL pinbridge last sent the hub (the tokenless one before any request).
    pub fn callback(&self) -> String {
        let requests = self.shared.requests.lock().unwrap();
        requests
            .iter()
            .rev()
            .find_map(|form| form.get("hub.callback").cloned())
            .unwrap_or_else(|| self.legacy_callback())
    }
    pub fn last_request(&self) -> HashMap<String, String> {
        self.shared
            .requests
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a hub request")
    }
    /// The hub's verification GET; returns (status, body).
    pub async fn verify(&self, mode: &str, topic: &str, extra: &[(&str, &str)]) -> (u16, String) {
        let mut query = vec![
            ("hub.mode", mode),
            ("hub.topic", topic),
            ("hub.challenge", "chal-123"),
        ];
        query.extend_from_slice(extra);
        let r = self
            .http
            .get(self.callback())
            .query(&query)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
    pub async fn push(&self, body: &str, signature: Option<String>) -> (u16, String) {
        let mut req = self
            .http
            .post(self.callback())
            .header("content-type", "application/rss+xml")
            .body(body.to_string());
        if let Some(sig) = signature {
            req = req.header("x-hub-signature", sig);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
    pub async fn subscribe_and_verify(&self) -> String {
        let done = self.websub.maintain(&self.id()).await.expect("maintain");
        assert!(matches!(done, Maintained::Requested { .. }), "{done:?}");
        let form = self.last_request();
        let topic = form["hub.topic"].clone();
        let (status, body) = self
            .verify("subscribe", &topic, &[("hub.lease_seconds", "864000")])
            .await;
        assert_eq!((status, body.as_str()), (200, "chal-123"));
        form["hub.secret"].clone()
    }
    pub async fn titles(&self) -> Vec<(String, usize)> {
        let mut t: Vec<(String, usize)> = self
            .store
            .recorded("shed")
            .await
            .into_iter()
            .map(|r| (r.item.title, r.jobs))
            .collect();
        t.sort();
        t
    }
}
