//! End to end on loopback: a real feed server, the real sled store in a temp dir, the sync
//! engine, and the Pinterest sandbox. Time for retries is a `ManualClock`, so nothing sleeps.

use std::path::Path;

use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::config::Config;
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig, SandboxPin, SandboxUser};
use pinbridge::sources::feed::poller::{PollReport, poll_cycle};
use tokio_util::sync::CancellationToken;

use crate::support::engine;

use crate::support::feed_server::FeedServer;

pub(crate) const T0: i64 = 1_790_000_000_000;

pub(crate) const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>
<title>Kitchen</title><link>https://kitchen.example/</link><description>d</description>
<item><title>Lemon cake</title><link>https://kitchen.example/lemon</link><guid>k-1</guid>
  <category>dessert</category><description>Bright &amp; moist.</description>
  <media:content url="https://kitchen.example/lemon.jpg" medium="image" width="800" height="1200"/></item>
<item><title>Tomato soup</title><link>https://kitchen.example/soup</link><guid>k-2</guid>
  <category>soup</category><description>Warm.</description>
  <enclosure url="https://kitchen.example/soup.jpg" type="image/jpeg" length="1"/></item>
<item><title>Notes</title><link>https://kitchen.example/notes</link><guid>k-3</guid>
  <description>No picture here.</description></item>
</channel></rss>"#;

pub(crate) struct Harness {
    pub(crate) sandbox: Sandbox,
    pub(crate) user: SandboxUser,
    pub(crate) feed: FeedServer,
    pub(crate) feed_url: String,
    pub(crate) api_base: String,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) clock: ManualClock,
    pub(crate) shutdown: CancellationToken,
    pub(crate) extra_routes: String,
}

impl Harness {
    pub(crate) async fn start(extra_routes: &str) -> Harness {
        let shutdown = CancellationToken::new();
        let sandbox = Sandbox::new(SandboxConfig::default());
        let user = sandbox.create_user("cook");
        let api_base = crate::support::pinterest::serve_sandbox(&sandbox, &shutdown).await;

        let feed = FeedServer::builder(FEED)
            .etag()
            .until(&shutdown)
            .start()
            .await;
        let feed_url = feed.url.clone();
        Harness {
            sandbox,
            user,
            feed,
            feed_url,
            api_base,
            dir: tempfile::tempdir().unwrap(),
            clock: ManualClock::new(T0),
            shutdown,
            extra_routes: extra_routes.to_string(),
        }
    }

    pub(crate) fn config(&self) -> Config {
        let text = format!(
            r#"
[pinterest]
api_base = "{api}"
client_id = "1480000"
client_secret = "sandbox-client-secret"

[[accounts]]
name = "main"
access_token = "{access}"
refresh_token = "{refresh}"

{blog}
[[routes]]
source = "blog"
board = "Everything"
create_missing = true

[[routes]]
source = "blog"
board = "Sweets"
section = "Cakes"
when = {{ category = "dessert" }}
create_missing = true
{extra}
[sync]
# One worker: the order of API calls, and so which one a fault hits, is deterministic.
workers = 1
backoff_base = "1s"
backoff_cap = "10s"
max_attempts = 3
"#,
            api = self.api_base,
            access = self.user.access_token,
            refresh = self.user.refresh_token,
            blog = crate::support::config::feed_source("blog", &self.feed_url),
            extra = self.extra_routes,
        );
        Config::from_toml(&text, Path::new("e2e.toml"), &|_| None).expect("valid test config")
    }

    /// Open the store and build the app (a "process start").
    pub(crate) async fn app(&self) -> App {
        engine::build_app(&self.dir.path().join("store"), &self.clock, &self.config()).await
    }

    pub(crate) fn pins_on(&self, board: &str) -> Vec<SandboxPin> {
        engine::pins_on(&self.sandbox, board)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) async fn poll(app: &App) -> PollReport {
    poll_cycle(&app.feeds()[0], &app.ingest, &CancellationToken::new())
        .await
        .unwrap()
}

pub(crate) async fn jobs_in(app: &App, state: &str) -> Vec<pinbridge::store::Job> {
    engine::jobs_in(app.store.as_ref(), state).await
}

#[tokio::test]
async fn feed_items_become_pins_on_the_mapped_boards_and_sections() {
    let h = Harness::start("").await;
    let app = h.app().await;
    let PollReport::Polled { new, pinned, .. } = poll(&app).await else {
        panic!("poll failed");
    };
    assert_eq!((new, pinned), (3, 3));
    app.engine.run_due().await.unwrap();

    let everything = h.pins_on("Everything");
    let mut titles: Vec<_> = everything.iter().filter_map(|p| p.title.clone()).collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Lemon cake", "Tomato soup"],
        "the item without an image is skipped"
    );
    let sweets = h.pins_on("Sweets");
    assert_eq!(sweets.len(), 1);
    assert_eq!(sweets[0].title.as_deref(), Some("Lemon cake"));
    assert_eq!(sweets[0].section_name.as_deref(), Some("Cakes"));
    assert_eq!(
        sweets[0].link.as_deref(),
        Some("https://kitchen.example/lemon")
    );
    assert_eq!(sweets[0].image_url, "https://kitchen.example/lemon.jpg");
    assert_eq!(sweets[0].description.as_deref(), Some("Bright & moist."));

    let notes = app
        .store
        .item(&SourceId::new("blog"), &DedupKey::new("guid", "k-3"))
        .await
        .unwrap()
        .expect("the imageless item is recorded");
    assert_eq!(
        notes.disposition,
        pinbridge::store::ItemDisposition::Skipped {
            reason: "no usable image".into()
        }
    );
    assert_eq!(jobs_in(&app, "done").await.len(), 3);
}

#[tokio::test]
async fn re_polls_and_restarts_make_no_new_pins() {
    let h = Harness::start("").await;
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), 3);

    // Same feed again: answered 304 from the stored ETag.
    let PollReport::Polled {
        new, not_modified, ..
    } = poll(&app).await
    else {
        panic!("poll failed");
    };
    assert!(not_modified);
    assert_eq!(new, 0);
    assert_eq!(h.feed.not_modified(), 1);

    // A changed body with the same items (new ETag): parsed again, still nothing new.
    h.feed.push_body("\n");
    let PollReport::Polled {
        new, not_modified, ..
    } = poll(&app).await
    else {
        panic!("poll failed");
    };
    assert!(!not_modified);
    assert_eq!(new, 0);
    assert_eq!(app.engine.run_due().await.unwrap(), 0);

    // Restart: close the store, open it again, poll again.
    app.store.close().await.unwrap();
    drop(app);
    let app = h.app().await;
    h.feed.push_body(" ");
    let PollReport::Polled { new, .. } = poll(&app).await else {
        panic!("poll failed");
    };
    assert_eq!(new, 0);
    assert_eq!(app.engine.run_due().await.unwrap(), 0);
    assert_eq!(h.sandbox.pins().len(), 3, "no Pin was made twice");
}

#[tokio::test]
async fn a_changed_title_is_recorded_as_changed_and_not_pinned_again() {
    let h = Harness::start("").await;
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    let before = h.sandbox.pins().len();

    h.feed
        .set_body(FEED.replace("Lemon cake", "Lemon drizzle cake"));
    let PollReport::Polled { new, changed, .. } = poll(&app).await else {
        panic!("poll failed");
    };
    assert_eq!((new, changed), (0, 1));
    let stored = app
        .store
        .item(&SourceId::new("blog"), &DedupKey::new("guid", "k-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.changes, 1);
    assert_eq!(stored.item.title, "Lemon drizzle cake");
    assert_eq!(app.engine.run_due().await.unwrap(), 0);
    assert_eq!(h.sandbox.pins().len(), before);
}
