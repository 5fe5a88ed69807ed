//! WebSub end to end on loopback: a feed server, a hub stand-in that records subscription
//! requests (the test then plays the hub: verification of intent, signed pushes), pinbridge's
//! callback router, the real sled store and a ManualClock.

use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::support::websub::*;
use pinbridge::sources::feed::{PollReport, poll_cycle};
use pinbridge::sources::websub::signature::sign;
use pinbridge::sources::websub::{Maintained, Status};

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
