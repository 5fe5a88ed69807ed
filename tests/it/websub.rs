//! WebSub end to end on loopback: a feed server, a hub stand-in that records subscription
//! requests (the test then plays the hub: verification of intent, signed pushes), pinbridge's
//! callback router, the real sled store and a ManualClock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::feed_support::{Sled, ingest, serve, sled_store, source};
use pinbridge::clock::ManualClock;
use pinbridge::item::SourceId;
use pinbridge::sources::feed::{FeedSource, PollReport, poll_cycle};
use pinbridge::sources::websub::signature::sign;
use pinbridge::sources::websub::{Maintained, Status, WebSub, WebSubSettings};

pub(crate) const DAY_MS: i64 = 24 * 3600 * 1000;

/// An RSS document with the given (guid, title) items, newest first, each with an image.
pub(crate) fn rss(hub_in_doc: Option<&str>, items: &[(&str, &str)]) -> String {
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
pub(crate) struct Shared {
    /// The feed body served.
    pub body: Arc<Mutex<String>>,
    /// `Link` header values sent with the feed.
    pub links: Arc<Mutex<Vec<String>>>,
    /// Every form the hub received.
    pub requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    pub hub_status: Arc<Mutex<u16>>,
}

pub(crate) struct World {
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

pub(crate) async fn world(links_in_headers: bool) -> World {
    world_with(links_in_headers, None).await
}

/// A world whose subscriber seals its secrets with `vault`.
pub(crate) async fn world_with(
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

#[tokio::test]
async fn discovery_from_headers_subscribes_to_the_self_url_with_a_secret() {
    let w = world(true).await;
    let done = w.websub.maintain(&w.id()).await.expect("maintain");
    assert_eq!(
        done,
        Maintained::Requested {
            hub: w.hub_url.clone(),
            topic: "https://shed.example/topic".into()
        }
    );
    let form = w.last_request();
    assert_eq!(form["hub.mode"], "subscribe");
    assert_eq!(form["hub.topic"], "https://shed.example/topic");
    // The callback carries a random token only the hub learns.
    let token = form["hub.callback"]
        .strip_prefix(&format!("{}/", w.legacy_callback()))
        .expect("the callback is /websub/shed/{token}")
        .to_string();
    assert!(
        token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );
    assert_eq!(form["hub.lease_seconds"], "864000");
    let secret = &form["hub.secret"];
    assert!(secret.len() >= 32 && secret.len() < 200, "{secret}");
    let sub = w.websub.subscription(&w.id()).await.unwrap();
    assert_eq!(sub.status, Status::Pending);
    assert_eq!(
        sub.secret
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .as_ref(),
        Some(secret)
    );
    // Nothing is due again until the pending request times out: no second request.
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::Idle);
    assert_eq!(w.shared.requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn discovery_from_the_document_when_headers_name_no_hub() {
    let w = world(false).await;
    let done = w.websub.maintain(&w.id()).await.expect("maintain");
    assert_eq!(
        done,
        Maintained::Requested {
            hub: w.hub_url.clone(),
            topic: "https://shed.example/rss".into()
        }
    );
}

#[tokio::test]
async fn a_feed_without_hub_is_left_alone_until_the_retry_time() {
    let w = world(true).await;
    w.shared.links.lock().unwrap().clear();
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::NoHub);
    assert_eq!(
        w.websub.subscription(&w.id()).await.unwrap().status,
        Status::NoHub
    );
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::Idle);
    w.clock.advance_ms(DAY_MS + 1);
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::NoHub);
    assert!(w.shared.requests.lock().unwrap().is_empty());
}

#[tokio::test]
async fn verification_for_an_unknown_topic_or_source_is_refused() {
    let w = world(true).await;
    // Before any request: nothing is pending.
    assert_eq!(
        w.verify("subscribe", "https://shed.example/topic", &[])
            .await
            .0,
        404
    );
    w.websub.maintain(&w.id()).await.unwrap();
    let (status, body) = w
        .verify("subscribe", "https://evil.example/other", &[])
        .await;
    assert_eq!(status, 404);
    assert!(!body.contains("chal-123"));
    let r = w
        .http
        .get(format!("{}websub/nope", w.public))
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", "x"),
            ("hub.challenge", "c"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(
        w.websub.subscription(&w.id()).await.unwrap().status,
        Status::Pending
    );
}

#[tokio::test]
async fn verified_push_with_a_valid_signature_is_ingested_and_dedups_with_polling() {
    let w = world(true).await;
    let token = CancellationToken::new();
    // First poll: baseline (Alpha recorded, not pinned).
    poll_cycle(&w.source, &w.ingest, &token).await.unwrap();
    let secret = w.subscribe_and_verify().await;
    let sub = w.websub.subscription(&w.id()).await.unwrap();
    assert_eq!(sub.status, Status::Active);
    assert_eq!(sub.lease_until, Some(w.ingest.now_ms() + 864_000_000));

    let pushed = rss(None, &[("b", "Beta"), ("a", "Alpha")]);
    for method in ["sha1", "sha512"] {
        let sig = sign(method, pushed.as_bytes(), secret.as_bytes());
        let (status, _) = w.push(&pushed, sig).await;
        assert_eq!(status, 200, "{method}");
    }
    assert_eq!(
        w.titles().await,
        [("Alpha".to_string(), 0), ("Beta".to_string(), 1)]
    );
    // The feed now has Beta too: the fallback poll finds nothing new (one item, one Pin).
    *w.shared.body.lock().unwrap() = pushed.clone();
    w.clock.advance_ms(DAY_MS);
    let report = poll_cycle(&w.source, &w.ingest, &token).await.unwrap();
    assert!(
        matches!(
            report,
            PollReport::Polled {
                items: 2,
                new: 0,
                changed: 0,
                ..
            }
        ),
        "{report:?}"
    );
    assert_eq!(w.titles().await.len(), 2);
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_acknowledged_and_ignored() {
    let w = world(true).await;
    poll_cycle(&w.source, &w.ingest, &CancellationToken::new())
        .await
        .unwrap();
    let secret = w.subscribe_and_verify().await;
    let pushed = rss(None, &[("b", "Beta")]);
    let forged = sign("sha256", pushed.as_bytes(), b"not the secret");
    assert_eq!(w.push(&pushed, forged).await.0, 202);
    assert_eq!(w.push(&pushed, None).await.0, 202);
    let tampered = sign("sha256", pushed.as_bytes(), secret.as_bytes());
    assert_eq!(
        w.push(&pushed.replace("Beta", "Evil"), tampered).await.0,
        202
    );
    assert_eq!(w.titles().await, [("Alpha".to_string(), 0)]);
}

#[tokio::test]
async fn unreadable_push_is_400_and_push_without_subscription_is_410() {
    let w = world(true).await;
    assert_eq!(w.push("<rss/>", None).await.0, 410);
    let secret = w.subscribe_and_verify().await;
    let junk = "this is not a feed";
    let (status, body) = w
        .push(junk, sign("sha256", junk.as_bytes(), secret.as_bytes()))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("not a readable feed"), "{body}");
}

#[tokio::test]
async fn a_deeply_nested_push_is_400_and_does_not_abort_the_process() {
    // The push path parses like a poll: 20,000 nested <media:content> overflowed the parsing
    // thread's stack (aborting everything) before the nesting limit.
    let w = world(true).await;
    let secret = w.subscribe_and_verify().await;
    let deep = String::from_utf8(super::feed_depth::nested_media_rss(20_000)).unwrap();
    let (status, body) = w
        .push(&deep, sign("sha256", deep.as_bytes(), secret.as_bytes()))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("nested deeper than"), "{body}");
}

#[tokio::test]
async fn the_lease_is_renewed_before_it_ends_with_the_same_secret() {
    let w = world(true).await;
    let secret = w.subscribe_and_verify().await;
    // Lease 10 days, renewed one day before it ends.
    w.clock.advance_ms(8 * DAY_MS);
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::Idle);
    w.clock.advance_ms(DAY_MS + 1);
    assert!(matches!(
        w.websub.maintain(&w.id()).await.unwrap(),
        Maintained::Requested { .. }
    ));
    let form = w.last_request();
    assert_eq!(w.shared.requests.lock().unwrap().len(), 2);
    assert_eq!(form["hub.secret"], secret);
    // Still active while the hub re-verifies; the new verification extends the lease.
    assert_eq!(
        w.websub.subscription(&w.id()).await.unwrap().status,
        Status::Active
    );
    let (status, _) = w
        .verify(
            "subscribe",
            &form["hub.topic"],
            &[("hub.lease_seconds", "3600")],
        )
        .await;
    assert_eq!(status, 200);
    let sub = w.websub.subscription(&w.id()).await.unwrap();
    assert_eq!(sub.lease_until, Some(w.ingest.now_ms() + 3_600_000));
}

#[tokio::test]
async fn a_hub_that_refuses_the_request_is_retried_later() {
    let w = world(true).await;
    *w.shared.hub_status.lock().unwrap() = 500;
    let err = w.websub.maintain(&w.id()).await.expect_err("hub said 500");
    assert!(err.to_string().contains("HTTP 500"), "{err}");
    let sub = w.websub.subscription(&w.id()).await.unwrap();
    assert_eq!(sub.status, Status::Failed);
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::Idle);
    *w.shared.hub_status.lock().unwrap() = 202;
    w.clock.advance_ms(DAY_MS + 1);
    assert!(matches!(
        w.websub.maintain(&w.id()).await.unwrap(),
        Maintained::Requested { .. }
    ));
}

#[tokio::test]
async fn denial_is_recorded_and_later_pushes_are_gone() {
    let w = world(true).await;
    let secret = w.subscribe_and_verify().await;
    let r = w
        .http
        .get(w.callback())
        .query(&[
            ("hub.mode", "denied"),
            ("hub.topic", "https://shed.example/topic"),
            ("hub.reason", "quota exceeded"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let sub = w.websub.subscription(&w.id()).await.unwrap();
    assert_eq!(sub.status, Status::Denied);
    assert!(sub.note.unwrap().contains("quota exceeded"));
    let pushed = rss(None, &[("b", "Beta")]);
    let sig = sign("sha256", pushed.as_bytes(), secret.as_bytes());
    assert_eq!(w.push(&pushed, sig).await.0, 410);
    assert_eq!(w.websub.maintain(&w.id()).await.unwrap(), Maintained::Idle);
}

#[tokio::test]
async fn unsubscribe_is_requested_and_cleared_on_verification() {
    let w = world(true).await;
    w.subscribe_and_verify().await;
    w.websub.unsubscribe(&w.id()).await.expect("unsubscribe");
    let form = w.last_request();
    assert_eq!(form["hub.mode"], "unsubscribe");
    assert_eq!(form["hub.callback"], w.callback());
    assert!(!form.contains_key("hub.secret"));
    // A subscribe verification is no longer accepted once unsubscribing.
    assert_eq!(w.verify("subscribe", &form["hub.topic"], &[]).await.0, 404);
    let (status, body) = w.verify("unsubscribe", &form["hub.topic"], &[]).await;
    assert_eq!((status, body.as_str()), (200, "chal-123"));
    assert_eq!(
        w.websub.subscription(&w.id()).await.unwrap().status,
        Status::None
    );
}

#[tokio::test]
async fn while_subscribed_polling_falls_back_to_once_a_day() {
    let w = world(true).await;
    let token = CancellationToken::new();
    poll_cycle(&w.source, &w.ingest, &token).await.unwrap();
    let before = w.store.state("shed").await.next_poll.unwrap();
    // The feed's own schedule: about 15 minutes (its interval, with jitter).
    assert!(before - w.ingest.now_ms() < DAY_MS / 2);
    w.subscribe_and_verify().await;
    w.websub.after_poll(&w.id()).await.unwrap();
    let after = w.store.state("shed").await.next_poll.unwrap();
    assert_eq!(after, w.ingest.now_ms() + DAY_MS);
    let _ = &w.feed_url;
}

/// Poll `check` every 20 ms until it holds, for at most 10 s.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn the_task_polls_first_then_subscribes_and_stops_on_shutdown() {
    let w = world(true).await;
    let token = CancellationToken::new();
    let task = tokio::spawn(pinbridge::sources::websub::run(
        w.source.clone(),
        w.ingest.clone(),
        w.websub.clone(),
        token.clone(),
    ));
    assert!(
        eventually(async || !w.shared.requests.lock().unwrap().is_empty()).await,
        "the task never asked the hub"
    );
    // The feed was baselined (polled) before the subscription was requested.
    assert!(w.store.state("shed").await.baselined);
    assert_eq!(w.titles().await, [("Alpha".to_string(), 0)]);
    assert_eq!(w.last_request()["hub.mode"], "subscribe");
    token.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
}

#[tokio::test]
async fn the_app_subscribes_and_serves_the_callback_when_public_url_is_set() {
    let w = world(true).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}/", listener.local_addr().unwrap());
    let text = format!(
        r#"
[server]
public_url = "{public}"

[[sources]]
id = "blog"
kind = "feed"
url = "{feed}"
allow_private = true
"#,
        feed = w.feed_url
    );
    let config =
        pinbridge::config::Config::from_toml(&text, std::path::Path::new("websub.toml"), &|_| None)
            .expect("valid config");
    let store = sled_store().await;
    let app = pinbridge::app::App::build_with_store(
        &config,
        Arc::new(w.clock.clone()),
        store.store.clone(),
    )
    .await
    .expect("app");
    let token = CancellationToken::new();
    let running = tokio::spawn(app.run(listener, token.clone()));
    assert!(
        eventually(async || !w.shared.requests.lock().unwrap().is_empty()).await,
        "the app never asked the hub"
    );
    let form = w.last_request();
    assert!(
        form["hub.callback"].starts_with(&format!("{public}websub/blog/")),
        "{}",
        form["hub.callback"]
    );
    let r = w
        .http
        .get(&form["hub.callback"])
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", form["hub.topic"].as_str()),
            ("hub.challenge", "from-the-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "from-the-app");
    token.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), running).await;
}
