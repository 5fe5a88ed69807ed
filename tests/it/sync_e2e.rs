//! End to end on loopback: a real feed server, the real sled store in a temp dir, the sync
//! engine, and the Pinterest sandbox. Time for retries is a `ManualClock`, so nothing sleeps.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::config::Config;
use pinbridge::item::{DedupKey, SourceId};
use pinbridge::pinterest::sandbox::{Faults, Sandbox, SandboxConfig, SandboxPin, SandboxUser};
use pinbridge::sources::feed::poller::{PollReport, poll_cycle};
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{JobFilter, JobState, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_790_000_000_000;

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
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

/// A feed server whose body tests can change; it honours If-None-Match.
#[derive(Clone, Default)]
struct FeedServer {
    body: Arc<Mutex<String>>,
    not_modified: Arc<Mutex<u32>>,
}

async fn serve_feed(State(feed): State<FeedServer>, headers: HeaderMap) -> Response {
    let body = feed.body.lock().unwrap().clone();
    let etag = format!(
        "\"{:x}\"",
        body.len() * 31 + body.bytes().map(usize::from).sum::<usize>()
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        *feed.not_modified.lock().unwrap() += 1;
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, "application/rss+xml".into()),
        ],
        body,
    )
        .into_response()
}

struct Harness {
    sandbox: Sandbox,
    user: SandboxUser,
    feed: FeedServer,
    feed_url: String,
    api_base: String,
    dir: tempfile::TempDir,
    clock: ManualClock,
    shutdown: CancellationToken,
    extra_routes: String,
}

impl Harness {
    async fn start(extra_routes: &str) -> Harness {
        let shutdown = CancellationToken::new();
        let sandbox = Sandbox::new(SandboxConfig::default());
        let user = sandbox.create_user("cook");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_base = format!("http://{}/v5/", listener.local_addr().unwrap());
        sandbox.spawn(listener, shutdown.clone());

        let feed = FeedServer::default();
        *feed.body.lock().unwrap() = FEED.to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let feed_url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
        let router = Router::new()
            .route("/feed.xml", get(serve_feed))
            .with_state(feed.clone());
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
            feed,
            feed_url,
            api_base,
            dir: tempfile::tempdir().unwrap(),
            clock: ManualClock::new(T0),
            shutdown,
            extra_routes: extra_routes.to_string(),
        }
    }

    fn config(&self) -> Config {
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

[[sources]]
id = "blog"
kind = "feed"
url = "{feed}"
backfill = "all"
allow_private = true

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
            feed = self.feed_url,
            extra = self.extra_routes,
        );
        Config::from_toml(&text, Path::new("e2e.toml"), &|_| None).expect("valid test config")
    }

    /// Open the store and build the app (a "process start").
    async fn app(&self) -> App {
        // A previous App's background tasks may still hold the store for a moment after it
        // was dropped (sled locks the directory until the last handle goes).
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
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("{e}"),
            }
        };
        App::build_with_store(&self.config(), Arc::new(self.clock.clone()), store)
            .await
            .unwrap()
    }

    fn pins_on(&self, board: &str) -> Vec<SandboxPin> {
        self.sandbox
            .pins()
            .into_iter()
            .filter(|p| p.board_name == board)
            .collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn poll(app: &App) -> PollReport {
    poll_cycle(&app.feeds()[0], &app.ingest, &CancellationToken::new())
        .await
        .unwrap()
}

async fn jobs_in(app: &App, state: &str) -> Vec<pinbridge::store::Job> {
    app.store
        .jobs(JobFilter {
            source: None,
            state: Some(state.into()),
            limit: 100,
        })
        .await
        .unwrap()
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
    assert_eq!(*h.feed.not_modified.lock().unwrap(), 1);

    // A changed body with the same items (new ETag): parsed again, still nothing new.
    h.feed.lock_body_push("\n");
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
    h.feed.lock_body_push(" ");
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

    *h.feed.body.lock().unwrap() = FEED.replace("Lemon cake", "Lemon drizzle cake");
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

#[tokio::test]
async fn a_429_waits_for_retry_after_without_using_an_attempt_then_succeeds() {
    let h = Harness::start("").await;
    let app = h.app().await;
    h.sandbox.set_faults(Faults {
        burst_429: 1,
        burst_retry_after: Some(30),
        ..Faults::default()
    });
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert!(h.sandbox.pins().is_empty());
    let waiting = jobs_in(&app, "retry").await;
    assert_eq!(waiting.len(), 3, "every job of the blocked account waits");
    assert!(
        waiting.iter().all(|j| j.attempts == 0),
        "a 429 does not use an attempt"
    );
    let blocked = app.store.account_state("main").await.unwrap().blocked_until;
    assert_eq!(
        blocked,
        Some(T0 + 30_000),
        "the block is persisted for restarts"
    );

    h.clock.advance_ms(29_000);
    assert_eq!(
        app.engine.run_due().await.unwrap(),
        0,
        "nothing before Retry-After"
    );
    h.clock.advance_ms(1_000);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), 3);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let h = Harness::start("").await;
    let app = h.app().await;
    h.sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    let retrying = jobs_in(&app, "retry").await;
    assert_eq!(retrying.len(), 3);
    for job in &retrying {
        assert_eq!(job.attempts, 1);
        let JobState::Retry { at } = job.state else {
            unreachable!()
        };
        assert!(
            at > T0 && at <= T0 + 1_000,
            "within the first backoff window: {at}"
        );
        assert!(
            job.last_error.as_deref().unwrap_or("").contains("50"),
            "{:?}",
            job.last_error
        );
    }
    h.sandbox.set_faults(Faults::default());
    h.clock.advance_ms(1_000);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), 3);
    assert_eq!(jobs_in(&app, "done").await.len(), 3);
}

#[tokio::test]
async fn a_create_that_failed_after_making_the_pin_is_reconciled_not_repeated() {
    let h = Harness::start("").await;
    let app = h.app().await;
    h.sandbox.set_faults(Faults {
        create_then_fail_rate: 1.0,
        ..Faults::default()
    });
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.stats().create_then_fail, 3);
    assert_eq!(jobs_in(&app, "unknown").await.len(), 3);

    h.sandbox.set_faults(Faults::default());
    // Not before the settle time (the HTTP timeout, 30 s): a late create could still land.
    h.clock.advance_ms(1_000);
    assert_eq!(app.engine.run_due().await.unwrap(), 0);
    h.clock.advance_ms(29_000);
    app.engine.run_due().await.unwrap();
    assert_eq!(jobs_in(&app, "done").await.len(), 3);
    assert_eq!(h.sandbox.pins().len(), 3, "each Pin exists once");
    assert_eq!(h.sandbox.stats().pins_created, 3);
}

#[tokio::test]
async fn a_rejected_pin_goes_to_the_dead_letter_with_the_api_message() {
    let h = Harness::start(
        r#"
[[routes]]
source = "blog"
board = "Broken links"
create_missing = true
link = "see {{ title }}"
"#,
    )
    .await;
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    let dead = jobs_in(&app, "dead").await;
    assert_eq!(
        dead.len(),
        2,
        "one per item with an image on the broken route"
    );
    for job in dead {
        let JobState::Dead { error, .. } = &job.state else {
            unreachable!()
        };
        assert!(error.contains("not a valid http(s) URL"), "{error}");
        assert_eq!(job.attempts, 0, "a 400 is not retried");
    }
    assert_eq!(
        h.sandbox.pins().len(),
        3,
        "the other routes were not affected"
    );
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_the_call_succeeds() {
    let h = Harness::start("").await;
    let app = h.app().await;
    h.sandbox.expire_access_tokens();
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), 3);
    assert_eq!(h.sandbox.stats().refresh_grants, 1);
    assert!(h.sandbox.stats().unauthorized >= 1);
}

impl FeedServer {
    fn lock_body_push(&self, s: &str) {
        self.body.lock().unwrap().push_str(s);
    }
}

#[tokio::test]
async fn refreshed_tokens_are_sealed_in_the_store_and_survive_a_restart() {
    let mut h = Harness::start("").await;
    h.extra_routes =
        "\n[store]\ntoken_keys = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n".into();
    let app = h.app().await;
    h.sandbox.expire_access_tokens();
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.stats().refresh_grants, 1);
    // The hook hands the tokens to a task; wait until they are stored.
    let mut stored = None;
    for _ in 0..200 {
        stored = app.store.account_state("main").await.unwrap().tokens;
        if stored.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let stored = stored.expect("refreshed tokens are stored");
    assert!(
        !String::from_utf8_lossy(&stored).contains("pina_")
            && !String::from_utf8_lossy(&stored).contains(&h.user.refresh_token),
        "tokens are sealed, not plain"
    );

    // Restart: the sandbox rotated the refresh token, so the configured one is dead; the stored
    // one must be used.
    app.store.close().await.unwrap();
    drop(app);
    let app = h.app().await;
    h.sandbox.expire_access_tokens();
    // A new item needs a new link too: one link is pinned once per board (board pacing).
    *h.feed.body.lock().unwrap() = FEED
        .replace("k-2", "k-20")
        .replace("kitchen.example/soup<", "kitchen.example/soup-2<");
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(
        h.sandbox.stats().refresh_grants,
        2,
        "refreshed with the stored token"
    );
    assert_eq!(h.sandbox.pins().len(), 4);
}
