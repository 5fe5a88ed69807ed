//! Accounts whose problem is the account, not the item, end to end on loopback (sandbox, feed
//! server, real sled store, `ManualClock`): an app with Trial access creating Pins in
//! production (403 code 29), a token without the scopes pinbridge needs, and the same 403
//! for three jobs in a row. The account is marked after the first job (the third for a bare
//! repeated 403, whose first two look like the items' fault and are dead-lettered), the other
//! jobs are held without calling Pinterest or using an attempt, nothing else is dead-lettered,
//! and once the account is fixed every job goes out.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::config::Config;
use pinbridge::pinterest::sandbox::{Faults, Sandbox, SandboxConfig, SandboxUser};
use pinbridge::sources::feed::poller::poll_cycle;
use pinbridge::store::{Job, JobFilter, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const T0: i64 = 1_790_000_000_000;
const ITEMS: usize = 4;
/// How long held jobs wait before they look at the account again.
const HOLD_WAIT_MS: i64 = 5 * 60_000;

fn feed() -> String {
    let items: String = (0..ITEMS)
        .map(|i| {
            format!(
                "<item><title>Post {i}</title><link>https://blog.example/{i}</link>\
                 <guid>post-{i}</guid>\
                 <enclosure url=\"https://blog.example/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>B</title>\
         <link>https://blog.example/</link><description>d</description>{items}</channel></rss>"
    )
}

struct Harness {
    sandbox: Sandbox,
    user: SandboxUser,
    clock: ManualClock,
    store: Arc<dyn Store>,
    api: String,
    feed_url: String,
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn start() -> Harness {
    let shutdown = CancellationToken::new();
    let clock = ManualClock::new(T0);
    let sandbox = Sandbox::with_clock(SandboxConfig::default(), Arc::new(clock.clone()));
    let user = sandbox.create_user("shop");
    sandbox.create_board(&user, "Blog");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}/v5/", listener.local_addr().unwrap());
    sandbox.spawn(listener, shutdown.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let feed_url = format!("http://{}/feed.xml", listener.local_addr().unwrap());
    let body = feed();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let body = body.clone();
            async move { ([("content-type", "application/rss+xml")], body) }
        }),
    );
    let token = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
    });
    let (dir, store) = crate::support::sled::clocked_store(&clock).await;
    Harness {
        sandbox,
        user,
        clock,
        store,
        api,
        feed_url,
        _dir: dir,
        shutdown,
    }
}

impl Harness {
    /// An App on the harness's store with `user`'s tokens: building it anew is what a restart
    /// or a changed config does.
    async fn app(&self, user: &SandboxUser) -> App {
        let config = format!(
            r#"
[pinterest]
api_base = "{api}"
client_id = "1480000"
client_secret = "sandbox-client-secret"

[[accounts]]
name = "shop"
access_token = "{access}"
refresh_token = "{refresh}"
writes_per_minute = 6000

[[sources]]
id = "blog"
kind = "feed"
url = "{feed_url}"
backfill = "all"
allow_private = true

[[routes]]
source = "blog"
account = "shop"
board = "Blog"

[sync]
workers = 1
backoff_base = "1s"
backoff_cap = "10s"
max_attempts = 3
"#,
            api = self.api,
            feed_url = self.feed_url,
            access = user.access_token,
            refresh = user.refresh_token,
        );
        let config = Config::from_toml(&config, Path::new("attention.toml"), &|_| None)
            .expect("valid test config");
        App::build_with_store(&config, Arc::new(self.clock.clone()), self.store.clone())
            .await
            .unwrap()
    }

    async fn jobs(&self, state: &str) -> Vec<Job> {
        self.store
            .jobs(JobFilter {
                source: None,
                state: Some(state.into()),
                limit: 100,
            })
            .await
            .unwrap()
    }

    /// Pin creates that reached the sandbox since the last call.
    fn creates_sent(&self) -> usize {
        self.sandbox
            .take_recording()
            .iter()
            .filter(|e| e.method == "POST" && e.uri.ends_with("/pins"))
            .count()
    }

    fn problem(&self, app: &App) -> Option<String> {
        app.engine
            .account_status()
            .into_iter()
            .find(|s| s.name == "shop")
            .unwrap()
            .problem
    }

    /// Every job waits, none used an attempt, none is dead; the held ones say why.
    async fn assert_all_held(&self, what: &str) {
        assert!(self.jobs("dead").await.is_empty(), "nothing dies");
        let waiting = self.jobs("retry").await;
        assert_eq!(waiting.len(), ITEMS, "{waiting:?}");
        assert!(waiting.iter().all(|j| j.attempts == 0), "{waiting:?}");
        let held = waiting
            .iter()
            .filter(|j| {
                j.last_error.as_deref().is_some_and(|e| {
                    e.starts_with("held until the account is fixed: ") && e.contains(what)
                })
            })
            .count();
        assert_eq!(held, ITEMS - 1, "all but the first are held: {waiting:?}");
    }
}

async fn poll_and_run(app: &App) {
    poll_cycle(&app.feeds()[0], &app.ingest, &CancellationToken::new())
        .await
        .unwrap();
    app.engine.run_due().await.unwrap();
}

#[tokio::test]
async fn a_trial_app_marks_the_account_after_one_job_and_the_jobs_go_out_once_cleared() {
    let h = start().await;
    let app = h.app(&h.user).await;
    h.sandbox.set_faults(Faults {
        trial_app: true,
        ..Faults::default()
    });
    h.sandbox.start_recording();
    poll_and_run(&app).await;

    assert_eq!(h.creates_sent(), 1, "only the first job reached Pinterest");
    h.assert_all_held("Trial access").await;
    let problem = h.problem(&app).unwrap_or_default();
    assert!(
        problem.contains("use api_base = https://api-sandbox.pinterest.com with a sandbox token, or apply for Standard access"),
        "{problem}"
    );
    assert!(problem.contains("code 29"), "Pinterest's words: {problem}");
    assert_eq!(
        h.store.account_state("shop").await.unwrap().problem,
        Some(problem.clone()),
        "recorded where readiness and status read account problems"
    );

    // Still held when their time comes: they ask the store, not Pinterest.
    h.clock.advance_ms(HOLD_WAIT_MS);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.creates_sent(), 0);
    assert_eq!(h.sandbox.pins().len(), 0);

    // The operator fixes the app and clears the problem (as `pinbridge auth` does).
    h.sandbox.set_faults(Faults::default());
    h.store
        .update_account_state("shop", Box::new(|state| state.problem = None))
        .await
        .unwrap();
    h.clock.advance_ms(HOLD_WAIT_MS);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), ITEMS, "every job went out");
    assert_eq!(h.jobs("done").await.len(), ITEMS);
    assert_eq!(h.problem(&app), None);
}

#[tokio::test]
async fn a_changed_config_tries_one_job_again_and_a_working_account_sends_the_rest() {
    let h = start().await;
    let app = h.app(&h.user).await;
    h.sandbox.set_faults(Faults {
        trial_app: true,
        ..Faults::default()
    });
    poll_and_run(&app).await;
    assert!(h.problem(&app).is_some());
    drop(app);

    // Pointed at the sandbox with a fresh token: the account is built anew, unheld.
    h.sandbox.set_faults(Faults::default());
    let fresh = h
        .sandbox
        .reauthorize(&h.user, pinbridge::pinterest::sandbox::DEFAULT_SCOPE);
    let app = h.app(&fresh).await;
    assert!(
        h.problem(&app).is_some_and(|p| p.contains("Trial access")),
        "the recorded problem shows until the account is seen working"
    );
    h.clock.advance_ms(HOLD_WAIT_MS);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), ITEMS);
    assert!(h.jobs("dead").await.is_empty());
    assert_eq!(h.problem(&app), None);
    assert_eq!(h.store.account_state("shop").await.unwrap().problem, None);
}

#[tokio::test]
async fn a_token_without_pins_write_marks_the_account_with_the_scopes_to_grant() {
    let h = start().await;
    let read_only = h.sandbox.reauthorize(&h.user, "boards:read,pins:read");
    let app = h.app(&read_only).await;
    // The granted scopes come with a token answer: make the engine refresh first.
    h.sandbox.expire_access_tokens();
    h.sandbox.start_recording();
    poll_and_run(&app).await;

    assert_eq!(h.creates_sent(), 1, "only the first job reached Pinterest");
    h.assert_all_held("scopes needed").await;
    let problem = h.problem(&app).unwrap_or_default();
    assert!(
        problem.contains(
            "reconnect with `pinbridge auth --account shop` — scopes needed: boards:write, pins:write"
        ),
        "{problem}"
    );

    // Reconnected with every scope: a new token in the config.
    let full = h
        .sandbox
        .reauthorize(&h.user, pinbridge::pinterest::sandbox::DEFAULT_SCOPE);
    drop(app);
    let app = h.app(&full).await;
    h.clock.advance_ms(HOLD_WAIT_MS);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.sandbox.pins().len(), ITEMS, "every job went out");
    assert!(h.jobs("dead").await.is_empty());
    assert_eq!(h.problem(&app), None);
}

#[tokio::test]
async fn the_same_403_for_three_jobs_in_a_row_marks_the_account_and_holds_the_rest() {
    let h = start().await;
    // The configured token's scopes are unknown to pinbridge (no token answer yet), so only
    // the repetition tells the account apart from the items.
    let read_only = h.sandbox.reauthorize(&h.user, "boards:read,pins:read");
    let app = h.app(&read_only).await;
    h.sandbox.start_recording();
    poll_and_run(&app).await;

    assert_eq!(
        h.creates_sent(),
        3,
        "three refusals, then the account is held"
    );
    let dead = h.jobs("dead").await;
    assert_eq!(dead.len(), 2, "the first two looked like the items' fault");
    let waiting = h.jobs("retry").await;
    assert_eq!(waiting.len(), ITEMS - 2, "{waiting:?}");
    assert!(waiting.iter().all(|j| j.attempts == 0), "{waiting:?}");
    let problem = h.problem(&app).unwrap_or_default();
    assert!(problem.contains("refused 3 jobs in a row"), "{problem}");
    assert!(problem.contains("pinbridge items retry"), "{problem}");
}
