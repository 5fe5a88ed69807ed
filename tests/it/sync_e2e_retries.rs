//! End to end on loopback, when Pinterest misbehaves: 429s and server errors retried as the
//! answer says, a create that failed after making the Pin reconciled, a rejected Pin dead-lettered
//! with the API message, and expired access tokens refreshed (and sealed in the store).

use pinbridge::pinterest::sandbox::Faults;
use pinbridge::store::JobState;

use super::sync_e2e::*;

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
    h.feed.set_body(
        FEED.replace("k-2", "k-20")
            .replace("kitchen.example/soup<", "kitchen.example/soup-2<"),
    );
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(
        h.sandbox.stats().refresh_grants,
        2,
        "refreshed with the stored token"
    );
    assert_eq!(h.sandbox.pins().len(), 4);
}
