//! Board pacing end to end: a route's `min_spacing` defers Pins on its board (in order, without
//! using attempts, across a restart), and one product link reaching pinbridge from a feed and
//! from a signed Shopify webhook becomes one Pin per board. Real loopback feed server, real
//! webhook endpoint, the sandbox, the real sled store; time is a `ManualClock` (sandbox too).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use pinbridge::app::App;
use pinbridge::clock::{Clock, ManualClock};
use pinbridge::config::{Config, SourceSettings};
use pinbridge::item::SourceId;
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig, SandboxPin, SandboxUser};
use pinbridge::sources::feed::poller::poll_cycle;
use pinbridge::sources::webhook::WebhookSources;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{Job, JobFilter, JobState, Store};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_790_000_000_000;
pub(crate) const MINUTE: i64 = 60_000;
const SHOP_SECRET: &str = "pacing-shop-secret";

pub(crate) fn feed(items: &[(&str, &str)]) -> String {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Shop</title><link>https://shop.example/</link><description>d</description>"#,
    );
    for (i, (title, link)) in items.iter().enumerate() {
        out.push_str(&format!(
            r#"<item><title>{title}</title><link>{link}</link><guid>g-{i}</guid><description>x</description><enclosure url="https://cdn.shop.example/{i}.jpg" type="image/jpeg" length="1"/></item>"#
        ));
    }
    out.push_str("</channel></rss>");
    out
}

pub(crate) struct Harness {
    sandbox: Sandbox,
    user: SandboxUser,
    api_base: String,
    feed_url: String,
    dir: tempfile::TempDir,
    clock: ManualClock,
    shutdown: CancellationToken,
    routes: String,
    pub(crate) workers: usize,
}

impl Harness {
    pub(crate) async fn start(feed_body: String, routes: &str) -> Harness {
        let shutdown = CancellationToken::new();
        let clock = ManualClock::new(T0);
        let sandbox = Sandbox::with_clock(SandboxConfig::default(), Arc::new(clock.clone()));
        let user = sandbox.create_user("shopkeeper");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_base = format!("http://{}/v5/", listener.local_addr().unwrap());
        sandbox.spawn(listener, shutdown.clone());

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let feed_url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
        let router = Router::new().route(
            "/feed.xml",
            get(move || {
                let body = feed_body.clone();
                async move { ([("content-type", "application/rss+xml")], body) }
            }),
        );
        let token = shutdown.clone();
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { token.cancelled().await })
                .await
                .unwrap()
        });
        Harness {
            sandbox,
            user,
            api_base,
            feed_url,
            dir: tempfile::tempdir().unwrap(),
            clock,
            shutdown,
            routes: routes.to_string(),
            workers: 1,
        }
    }

    fn config(&self) -> Config {
        let text = format!(
            r#"
[pinterest]
api_base = "{api}"

[[accounts]]
name = "main"
access_token = "{access}"

[[sources]]
id = "blog"
kind = "feed"
url = "{feed}"
backfill = "all"
allow_private = true

[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "{SHOP_SECRET}"
storefront_url = "https://shop.example"

{routes}

[sync]
workers = {workers}
backoff_base = "1s"
backoff_cap = "10s"
max_attempts = 3
"#,
            api = self.api_base,
            access = self.user.access_token,
            feed = self.feed_url,
            routes = self.routes,
            workers = self.workers,
        );
        Config::from_toml(&text, Path::new("pacing.toml"), &|_| None).expect("valid test config")
    }

    /// Open the store and build the app (a "process start").
    pub(crate) async fn app(&self) -> App {
        let mut tries = 0;
        let store: Arc<dyn Store> = loop {
            match SledStore::open_async(
                self.dir.path().join("store"),
                SledOptions::default(),
                Some(Arc::new(self.clock.clone())),
            )
            .await
            {
                Ok(store) => break Arc::new(store),
                // A dropped App's tasks may hold sled's directory lock for a moment.
                Err(_) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        App::build_with_store(&self.config(), Arc::new(self.clock.clone()), store)
            .await
            .unwrap()
    }

    pub(crate) fn pins_on(&self, board: &str) -> Vec<SandboxPin> {
        self.sandbox
            .pins()
            .into_iter()
            .filter(|p| p.board_name == board)
            .collect()
    }

    pub(crate) fn advance(&self, ms: i64) {
        self.clock.advance_ms(ms);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) async fn poll(app: &App) {
    poll_cycle(&app.feeds()[0], &app.ingest, &CancellationToken::new())
        .await
        .expect("poll");
}

pub(crate) async fn jobs(app: &App) -> Vec<Job> {
    app.store.jobs(JobFilter::default()).await.unwrap()
}

/// Serve the app's webhook endpoint on loopback (what `serve` mounts at `/hooks/<id>`).
async fn serve_hooks(h: &Harness, app: &App) -> String {
    let config = h.config();
    let hooks: Vec<_> = config
        .sources
        .iter()
        .filter_map(|s| match &s.settings {
            SourceSettings::Webhook(w) => Some((SourceId::new(&s.common.id), w.as_ref().clone())),
            _ => None,
        })
        .collect();
    let sources = Arc::new(
        WebhookSources::new(hooks, app.ingest.clone(), Arc::new(h.clock.clone()))
            .expect("webhook sources"),
    );
    let router = pinbridge::sources::webhook::router(sources);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let token = h.shutdown.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .unwrap()
    });
    base
}

/// POST a signed Shopify `products/create` for a product with `handle`.
async fn send_product(base: &str, id: u64, handle: &str, title: &str) {
    let body = serde_json::json!({
        "id": id,
        "title": title,
        "body_html": "<p>A mug.</p>",
        "handle": handle,
        "status": "active",
        "published_at": "2026-11-20T10:00:00-05:00",
        "variants": [{"id": 1, "price": "10.00"}],
        "images": [{"id": 1, "position": 1, "src": "https://cdn.shop.example/mug.jpg"}],
        "image": {"id": 1, "src": "https://cdn.shop.example/mug.jpg"}
    })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SHOP_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let answer = reqwest::Client::new()
        .post(format!("{base}/hooks/shop"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", "pacing.myshopify.com")
        .header("x-shopify-event-id", format!("event-{id}"))
        .header("x-shopify-webhook-id", format!("hook-{id}"))
        .header("x-shopify-api-version", "2026-04")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "webhook refused: {}",
        answer.status()
    );
}

pub(crate) const SPACED: &str = r#"
[[routes]]
source = "blog"
board = "Products"
create_missing = true
min_spacing = "10m"
"#;

fn three_items() -> String {
    feed(&[
        ("First", "https://shop.example/products/first"),
        ("Second", "https://shop.example/products/second"),
        ("Third", "https://shop.example/products/third"),
    ])
}

#[tokio::test]
async fn a_spaced_board_gets_one_pin_per_interval_in_queue_order_without_using_attempts() {
    let h = Harness::start(three_items(), SPACED).await;
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 1, "one Pin, the others wait");
    let waiting: Vec<Job> = jobs(&app)
        .await
        .into_iter()
        .filter(|j| !matches!(j.state, JobState::Done { .. }))
        .collect();
    assert_eq!(waiting.len(), 2);
    for job in &waiting {
        assert_eq!(job.attempts, 0, "waiting for the spacing is not a failure");
        assert!(
            job.last_error
                .as_deref()
                .is_some_and(|e| e.contains("min_spacing")),
            "{:?}",
            job.last_error
        );
    }

    // Nine minutes later: still nothing new.
    h.advance(9 * MINUTE);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 1);
    // At ten minutes the second goes, at twenty the third.
    h.advance(MINUTE);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 2);
    h.advance(10 * MINUTE);
    app.engine.run_due().await.unwrap();
    let pins = h.pins_on("Products");
    assert_eq!(pins.len(), 3);
    for pair in pins.windows(2) {
        assert!(
            pair[1].created_at_ms - pair[0].created_at_ms >= 10 * MINUTE,
            "Pins {} and {} are closer than min_spacing",
            pair[0].id,
            pair[1].id
        );
    }
    // Queue order: the jobs' creation order (the feed's order) is the Pins' order.
    let mut by_job = jobs(&app).await;
    by_job.sort_by(|a, b| a.id.cmp(&b.id));
    let job_pins: Vec<String> = by_job
        .iter()
        .filter_map(|j| match &j.state {
            JobState::Done { pin_id, .. } => Some(pin_id.clone()),
            _ => None,
        })
        .collect();
    let made: Vec<String> = pins.iter().map(|p| p.id.clone()).collect();
    assert_eq!(job_pins, made);
    assert!(jobs(&app).await.iter().all(|j| j.attempts == 0));
}

#[tokio::test]
async fn the_last_pin_time_survives_a_restart() {
    let h = Harness::start(three_items(), SPACED).await;
    {
        let app = h.app().await;
        poll(&app).await;
        app.engine.run_due().await.unwrap();
        assert_eq!(h.pins_on("Products").len(), 1);
        app.store.close().await.unwrap();
    }
    // A new process two minutes later: the board had a Pin two minutes ago.
    h.advance(2 * MINUTE);
    let app = h.app().await;
    assert_eq!(
        app.store.board_last_pin("main", "Products").await.unwrap(),
        Some(T0)
    );
    app.engine.run_due().await.unwrap();
    assert_eq!(
        h.pins_on("Products").len(),
        1,
        "the restart does not reset the spacing"
    );
    h.advance(8 * MINUTE);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 2);
    assert_eq!(h.clock.now_ms(), T0 + 10 * MINUTE);
}

#[tokio::test]
async fn one_product_from_a_feed_and_a_webhook_is_one_pin_per_board() {
    // The feed's link carries tracking parameters and a fragment and another host case; the
    // webhook's link is built from the storefront URL. Both normalise to one link.
    let body = feed(&[(
        "Blue mug",
        "https://SHOP.example/products/blue-mug?utm_source=rss&amp;utm_medium=feed#reviews",
    )]);
    let routes = r#"
[[routes]]
source = "*"
board = "Products"
create_missing = true

[[routes]]
source = "*"
board = "Gifts"
create_missing = true
"#;
    let h = Harness::start(body, routes).await;
    let app = h.app().await;
    let hooks = serve_hooks(&h, &app).await;

    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 1);
    assert_eq!(h.pins_on("Gifts").len(), 1);

    send_product(&hooks, 7001, "blue-mug", "Blue Mug (shop)").await;
    h.advance(MINUTE);
    app.engine.run_due().await.unwrap();

    let products = h.pins_on("Products");
    let gifts = h.pins_on("Gifts");
    assert_eq!(products.len(), 1, "one Pin on Products: {products:?}");
    assert_eq!(gifts.len(), 1, "one Pin on Gifts: {gifts:?}");
    assert_eq!(h.sandbox.pins().len(), 2);

    // The webhook's jobs are done, pointing at the feed's Pins, and say why.
    let all = jobs(&app).await;
    let shop_jobs: Vec<&Job> = all.iter().filter(|j| j.source.as_str() == "shop").collect();
    assert_eq!(shop_jobs.len(), 2);
    for job in shop_jobs {
        let JobState::Done { pin_id, .. } = &job.state else {
            panic!("the webhook's job is not done: {:?}", job.state);
        };
        let expected = match job.target.board.as_str() {
            "Products" => &products[0].id,
            _ => &gifts[0].id,
        };
        assert_eq!(pin_id, expected);
        let note = job.last_error.as_deref().unwrap_or_default();
        assert!(
            note.contains("same link already pinned on this board by blog/"),
            "{note}"
        );
    }
    let holder = app
        .store
        .link_holder("main", "Products", "https://shop.example/products/blue-mug")
        .await
        .unwrap()
        .expect("the link is indexed");
    assert_eq!(holder.source.as_str(), "blog");
    assert_eq!(holder.pin_id.as_deref(), Some(products[0].id.as_str()));

    // A different product from the webhook is pinned as usual.
    send_product(&hooks, 7002, "red-mug", "Red Mug").await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 2);
}

#[test]
fn min_spacing_is_validated() {
    let base = r#"
[pinterest]
api_base = "http://127.0.0.1:9/v5/"
[[accounts]]
name = "main"
access_token = "t"
[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "s"
storefront_url = "https://shop.example"
"#;
    let check = |routes: &str| -> Vec<String> {
        match Config::from_toml(&format!("{base}{routes}"), Path::new("x.toml"), &|_| None) {
            Ok(_) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_string).collect(),
        }
    };
    let ok = check("[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"15m\"\n");
    assert!(ok.is_empty(), "{ok:?}");
    let zero = check("[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"0s\"\n");
    assert!(
        zero.iter()
            .any(|l| l.contains("routes[0].min_spacing") && l.contains("more than zero")),
        "{zero:?}"
    );
    let garbage = check("[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"soon\"\n");
    assert!(
        garbage.iter().any(|l| l.contains("min_spacing")),
        "{garbage:?}"
    );
    let two = check(
        "[[routes]]\nsource = \"shop\"\nboard = \"B\"\nmin_spacing = \"15m\"\n[[routes]]\nsource = \"*\"\nboard = \"B\"\nmin_spacing = \"1h\"\n",
    );
    assert!(
        two.iter()
            .any(|l| l.contains("routes[1].min_spacing") && l.contains("routes[0]")),
        "{two:?}"
    );
}

#[tokio::test]
async fn a_feed_item_and_a_webhook_pinned_at_the_same_time_still_make_one_pin() {
    let body = feed(&[("Green mug", "https://shop.example/products/green-mug#top")]);
    let routes = r#"
[[routes]]
source = "*"
board = "Products"
create_missing = true
"#;
    let mut h = Harness::start(body, routes).await;
    // Two workers: both jobs are claimed together and race for the link.
    h.workers = 2;
    let app = h.app().await;
    let hooks = serve_hooks(&h, &app).await;
    poll(&app).await;
    send_product(&hooks, 7003, "green-mug", "Green Mug").await;
    assert_eq!(jobs(&app).await.len(), 2);

    app.engine.run_due().await.unwrap();
    // The loser either saw the winner's Pin, or saw it in flight and waits (at most a minute).
    h.advance(2 * MINUTE);
    app.engine.run_due().await.unwrap();

    assert_eq!(h.pins_on("Products").len(), 1, "{:?}", h.sandbox.pins());
    let all = jobs(&app).await;
    let pin_ids: Vec<&str> = all
        .iter()
        .map(|j| match &j.state {
            JobState::Done { pin_id, .. } => pin_id.as_str(),
            other => panic!("job not done: {other:?}"),
        })
        .collect();
    assert_eq!(pin_ids[0], pin_ids[1], "both point at the one Pin");
    assert_eq!(
        all.iter()
            .filter(|j| j
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("same link already pinned")))
            .count(),
        1
    );
    assert!(all.iter().all(|j| j.attempts == 0));
}
