//! Board pacing end to end: a route's `min_spacing` defers Pins on its board (in order, without
//! using attempts, across a restart), and one product link reaching pinbridge from a feed and
//! from a signed Shopify webhook becomes one Pin per board. Real loopback feed server, real
//! webhook endpoint, the sandbox, the real sled store; time is a `ManualClock` (sandbox too).

use std::path::Path;
use std::sync::Arc;

use pinbridge::app::App;
use pinbridge::clock::{Clock, ManualClock};
use pinbridge::config::Config;
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig, SandboxPin, SandboxUser};
use pinbridge::sources::feed::poller::poll_cycle;
use pinbridge::store::{Job, JobFilter, JobState};
use tokio_util::sync::CancellationToken;

use crate::support::engine;

use crate::support::feed_server::FeedServer;

pub(crate) const T0: i64 = 1_790_000_000_000;
pub(crate) const MINUTE: i64 = 60_000;
pub(crate) const SHOP_SECRET: &str = "pacing-shop-secret";

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
    pub(crate) sandbox: Sandbox,
    pub(crate) user: SandboxUser,
    pub(crate) api_base: String,
    pub(crate) feed_url: String,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) clock: ManualClock,
    pub(crate) shutdown: CancellationToken,
    pub(crate) routes: String,
    pub(crate) workers: usize,
}

impl Harness {
    pub(crate) async fn start(feed_body: String, routes: &str) -> Harness {
        let shutdown = CancellationToken::new();
        let clock = ManualClock::new(T0);
        let sandbox = Sandbox::with_clock(SandboxConfig::default(), Arc::new(clock.clone()));
        let user = sandbox.create_user("shopkeeper");
        let api_base = crate::support::pinterest::serve_sandbox(&sandbox, &shutdown).await;

        let feed_url = FeedServer::builder(feed_body)
            .until(&shutdown)
            .start()
            .await
            .url;
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

    pub(crate) fn config(&self) -> Config {
        let shop = crate::support::config::shopify_source("shop", SHOP_SECRET);
        let text = format!(
            r#"
[pinterest]
api_base = "{api}"

[[accounts]]
name = "main"
access_token = "{access}"

{blog}
{shop}
{routes}

[sync]
workers = {workers}
backoff_base = "1s"
backoff_cap = "10s"
max_attempts = 3
"#,
            api = self.api_base,
            access = self.user.access_token,
            blog = crate::support::config::feed_source("blog", &self.feed_url),
            routes = self.routes,
            workers = self.workers,
        );
        Config::from_toml(&text, Path::new("pacing.toml"), &|_| None).expect("valid test config")
    }

    /// Open the store and build the app (a "process start").
    pub(crate) async fn app(&self) -> App {
        engine::build_app(&self.dir.path().join("store"), &self.clock, &self.config()).await
    }

    pub(crate) fn pins_on(&self, board: &str) -> Vec<SandboxPin> {
        engine::pins_on(&self.sandbox, board)
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

pub(crate) const SPACED: &str = r#"
[[routes]]
source = "blog"
board = "Products"
create_missing = true
min_spacing = "10m"
"#;

pub(crate) fn three_items() -> String {
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
