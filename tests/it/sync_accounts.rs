//! Accounts under limits, end to end on loopback (sandbox, feed server, real sled store,
//! `ManualClock` for the engine and the sandbox): one account rate limited while another is
//! unaffected, the daily cap across a restart, a failed token refresh, a spam 429.

use std::path::Path;
use std::sync::Arc;

use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::config::Config;
use pinbridge::pinterest::sandbox::{FailMode, Faults, Sandbox, SandboxConfig};
use pinbridge::sources::feed::poller::poll_cycle;
use pinbridge::store::Job;
use pinbridge::store::prelude::*;
use pinbridge::sync::AccountStatus;
use tokio_util::sync::CancellationToken;

use crate::support::engine;
use crate::support::feed_server::FeedServer;

const T0: i64 = 1_790_000_000_000;
const DAY: i64 = 86_400_000;

fn feed() -> String {
    let mut items = String::new();
    for (cat, n) in [("busy", 5), ("calm", 2)] {
        for i in 0..n {
            items.push_str(&format!(
                "<item><title>{cat} {i}</title><link>https://blog.example/{cat}/{i}</link>\
                 <guid>{cat}-{i}</guid><category>{cat}</category>\
                 <enclosure url=\"https://blog.example/{cat}/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>"
            ));
        }
    }
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>B</title>\
         <link>https://blog.example/</link><description>d</description>{items}</channel></rss>"
    )
}

struct Harness {
    sandbox: Sandbox,
    clock: ManualClock,
    store: Arc<dyn Store>,
    config: String,
    _dir: tempfile::TempDir,
    shutdown: CancellationToken,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `busy_account` is the TOML of the busy account's extra keys (tokens, caps).
async fn start(quota: Option<u32>, busy_extra: &str, busy_tokens: Option<(&str, &str)>) -> Harness {
    let shutdown = CancellationToken::new();
    let clock = ManualClock::new(T0);
    let sandbox = Sandbox::with_clock(
        SandboxConfig {
            write_quota_per_minute: quota,
            ..SandboxConfig::default()
        },
        Arc::new(clock.clone()),
    );
    let busy = sandbox.create_user("busy");
    let calm = sandbox.create_user("calm");
    let api = crate::support::pinterest::serve_sandbox(&sandbox, &shutdown).await;
    let feed_url = FeedServer::builder(feed())
        .until(&shutdown)
        .start()
        .await
        .url;
    let (busy_access, busy_refresh) =
        busy_tokens.unwrap_or((busy.access_token.as_str(), busy.refresh_token.as_str()));
    let config = format!(
        r#"
[pinterest]
api_base = "{api}"
client_id = "1480000"
client_secret = "sandbox-client-secret"

[[accounts]]
name = "busy"
access_token = "{busy_access}"
refresh_token = "{busy_refresh}"
writes_per_minute = 6000
{busy_extra}

[[accounts]]
name = "calm"
access_token = "{calm_access}"
refresh_token = "{calm_refresh}"
writes_per_minute = 6000

[[sources]]
id = "blog"
kind = "feed"
url = "{feed_url}"
backfill = "all"
allow_private = true

[[routes]]
source = "blog"
account = "busy"
board = "Busy"
when = {{ category = "busy" }}
create_missing = true

[[routes]]
source = "blog"
account = "calm"
board = "Calm"
when = {{ category = "calm" }}
create_missing = true

[sync]
workers = 1
backoff_base = "1s"
backoff_cap = "10s"
max_attempts = 3
"#,
        calm_access = calm.access_token,
        calm_refresh = calm.refresh_token,
    );
    let (dir, store) = crate::support::sled::clocked_store(&clock).await;
    Harness {
        sandbox,
        clock,
        store,
        config,
        _dir: dir,
        shutdown,
    }
}

impl Harness {
    /// A fresh App on the same store: what a restart keeps is what the store keeps.
    async fn app(&self) -> App {
        let config = Config::from_toml(&self.config, Path::new("accounts.toml"), &|_| None)
            .expect("valid test config");
        App::build_with_store(&config, Arc::new(self.clock.clone()), self.store.clone())
            .await
            .unwrap()
    }

    fn pins_on(&self, board: &str) -> usize {
        engine::pins_on(&self.sandbox, board).len()
    }

    async fn jobs(&self, state: &str) -> Vec<Job> {
        engine::jobs_in(self.store.as_ref(), state).await
    }
}

async fn poll_and_run(app: &App) {
    poll_cycle(&app.feeds()[0], &app.ingest, &CancellationToken::new())
        .await
        .unwrap();
    app.engine.run_due().await.unwrap();
}

fn status(app: &App, name: &str) -> AccountStatus {
    app.engine
        .account_status()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

#[tokio::test]
async fn a_rate_limited_account_waits_while_the_other_is_unaffected() {
    // Three writes a minute per user: a board and two Pins.
    let h = start(Some(3), "", None).await;
    let app = h.app().await;
    poll_and_run(&app).await;

    assert_eq!(h.pins_on("Calm"), 2, "the calm account made all its Pins");
    assert_eq!(
        h.pins_on("Busy"),
        2,
        "the busy account stopped at its quota"
    );
    let waiting = h.jobs("retry").await;
    assert_eq!(waiting.len(), 3);
    assert!(waiting.iter().all(|j| j.target.account == "busy"));
    assert!(
        waiting.iter().all(|j| j.attempts == 0),
        "a 429 uses no attempt: {waiting:?}"
    );

    let busy = status(&app, "busy");
    assert!(busy.blocked_until.is_some_and(|t| t > T0), "{busy:?}");
    assert!(busy.writes_per_minute < 6000.0, "slowed down after the 429");
    let calm = status(&app, "calm");
    assert_eq!(calm.blocked_until, None);
    assert_eq!(calm.writes_per_minute, 6000.0);
    assert_eq!(calm.problem, None);
    let persisted = h.store.account_state("busy").await.unwrap();
    assert_eq!(persisted.blocked_until, busy.blocked_until);

    // A minute later the quota has room again.
    h.clock.advance_ms(61_000);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Busy"), 5);
    assert_eq!(h.jobs("done").await.len(), 7);
    assert_eq!(h.sandbox.pins().len(), 7, "nothing doubled");
}

#[tokio::test]
async fn the_daily_cap_holds_across_a_restart_and_frees_up_the_next_utc_day() {
    let h = start(None, "daily_cap = 2", None).await;
    let app = h.app().await;
    poll_and_run(&app).await;
    assert_eq!(h.pins_on("Busy"), 2);
    assert_eq!(h.pins_on("Calm"), 2, "the cap is per account");
    let waiting = h.jobs("retry").await;
    assert_eq!(waiting.len(), 3);
    let next_day = (T0 / DAY + 1) * DAY;
    for job in &waiting {
        assert_eq!(job.attempts, 0, "waiting for the cap uses no attempt");
        assert!(
            job.last_error
                .as_deref()
                .is_some_and(|e| e.contains("daily cap of 2")),
            "{job:?}"
        );
        assert!(matches!(job.state, pinbridge::store::JobState::Retry { at } if at == next_day));
    }
    assert_eq!(status(&app, "busy").pins_today, 2);
    drop(app);

    // A restart the same day still counts today's Pins.
    h.clock.set_ms(next_day - 1);
    let app = h.app().await;
    assert_eq!(status(&app, "busy").pins_today, 2);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Busy"), 2);

    h.clock.set_ms(next_day);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Busy"), 4, "two more on the new day");
    assert_eq!(h.jobs("retry").await.len(), 1);
    assert_eq!(status(&app, "busy").pins_today, 2);
}

#[tokio::test]
async fn a_failed_token_refresh_marks_the_account_and_its_jobs_wait() {
    let h = start(None, "", Some(("expired-access", "revoked-refresh"))).await;
    let app = h.app().await;
    poll_and_run(&app).await;
    assert_eq!(h.pins_on("Calm"), 2, "the other account works");
    assert_eq!(h.pins_on("Busy"), 0);
    assert!(h.jobs("dead").await.is_empty(), "nothing dies");
    let waiting = h.jobs("retry").await;
    assert_eq!(waiting.len(), 5);
    assert!(waiting.iter().all(|j| j.attempts == 0), "{waiting:?}");
    let problem = status(&app, "busy").problem.unwrap_or_default();
    assert!(
        problem.contains("pinbridge auth --account busy"),
        "{problem}"
    );
    assert_eq!(
        h.store.account_state("busy").await.unwrap().problem,
        Some(problem),
        "persisted for readiness after a restart"
    );
    assert_eq!(status(&app, "calm").problem, None);
}

#[tokio::test]
async fn a_429_citing_spam_pauses_the_account_and_says_so() {
    let h = start(None, "", None).await;
    let app = h.app().await;
    h.sandbox.set_faults(Faults {
        burst_429: 1,
        burst_429_spam: true,
        burst_retry_after: Some(30),
        ..Faults::default()
    });
    poll_and_run(&app).await;
    let spammed: Vec<_> = app
        .engine
        .account_status()
        .into_iter()
        .filter(|s| s.problem.as_deref().is_some_and(|p| p.contains("spam")))
        .collect();
    assert_eq!(spammed.len(), 1, "{:?}", app.engine.account_status());
    let paused = &spammed[0];
    assert!(
        paused.blocked_until.is_some_and(|t| t >= T0 + 3_600_000),
        "paused for at least an hour, not Retry-After's 30 s: {paused:?}"
    );
    assert!(
        paused
            .problem
            .as_deref()
            .unwrap()
            .starts_with("paused until")
    );
}

#[tokio::test]
async fn a_create_whose_connection_drops_after_the_pin_was_made_is_reconciled_not_repeated() {
    let h = start(None, "", None).await;
    let app = h.app().await;
    h.sandbox.set_faults(Faults {
        create_then_fail_rate: 1.0,
        create_then_fail: FailMode::Drop,
        ..Faults::default()
    });
    poll_and_run(&app).await;
    assert_eq!(h.sandbox.stats().create_then_fail, 7);
    assert_eq!(h.jobs("unknown").await.len(), 7, "every outcome is unknown");
    h.sandbox.set_faults(Faults::default());
    // The reconcile waits for the settle time (the HTTP timeout, 30 s by default).
    h.clock.advance_ms(30_000);
    app.engine.run_due().await.unwrap();
    assert_eq!(h.jobs("done").await.len(), 7);
    assert_eq!(h.sandbox.pins().len(), 7, "each Pin exists once");
    assert_eq!(h.sandbox.stats().pins_created, 7);
}
