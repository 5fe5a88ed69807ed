//! WebSub verification cannot be spoofed, the hub POST keeps its secret, and subscription
//! secrets are sealed in the store. Real loopback servers (feed, hub, pinbridge's callback),
//! the real sled store, a ManualClock.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::post;
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::support::feed::serve;
use crate::support::websub::{DAY_MS, World, rss, world, world_with};
use pinbridge::pinterest::vault::Vault;
use pinbridge::sources::feed::poll_cycle;
use pinbridge::sources::websub::signature::sign;
use pinbridge::sources::websub::{Status, WebSub, WebSubSettings};
use pinbridge::store::prelude::*;

const TEN_DAYS_MS: i64 = 10 * DAY_MS;

/// A GET to `url` shaped like a hub's verification of intent.
async fn forged_verify(w: &World, url: &str, topic: &str, lease: &str) -> u16 {
    w.http
        .get(url)
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", topic),
            ("hub.challenge", "forged"),
            ("hub.lease_seconds", lease),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_verification_nobody_awaits_cannot_extend_or_freeze_a_subscription() {
    let w = world(true).await;
    w.subscribe_and_verify().await;
    let before = w.websub.subscription(&w.id()).await.unwrap();
    let topic = before.topic.clone().unwrap();
    // Someone who knows the source id and the feed's topic, at the URL an older build used.
    let legacy = w.legacy_callback();
    assert_eq!(forged_verify(&w, &legacy, &topic, "999999999").await, 404);
    // A replay at the real callback: the request it answered was verified already.
    let callback = w.callback();
    w.clock.advance_ms(1000);
    assert_eq!(forged_verify(&w, &callback, &topic, "999999999").await, 404);
    // A guessed token.
    let guessed = format!("{legacy}/00000000000000000000000000000000");
    assert_eq!(forged_verify(&w, &guessed, &topic, "999999999").await, 404);
    let after = w.websub.subscription(&w.id()).await.unwrap();
    assert_eq!(after.lease_until, before.lease_until);
    assert_eq!(after.next_check, before.next_check);
}

#[tokio::test]
async fn a_pending_request_is_only_verified_within_its_window() {
    let w = world(true).await;
    w.websub.maintain(&w.id()).await.unwrap();
    let topic = w.last_request()["hub.topic"].clone();
    // Later than the pending timeout (1 h): the request is no longer awaited.
    w.clock.advance_ms(3_600_000 + 1);
    assert_eq!(w.verify("subscribe", &topic, &[]).await.0, 404);
    assert_eq!(
        w.websub.subscription(&w.id()).await.unwrap().status,
        Status::Pending
    );
}

#[tokio::test]
async fn the_lease_a_hub_grants_is_clamped() {
    for (granted, expected_ms) in [("999999999", TEN_DAYS_MS), ("1", 60_000)] {
        let w = world(true).await;
        w.websub.maintain(&w.id()).await.unwrap();
        let topic = w.last_request()["hub.topic"].clone();
        let (status, _) = w
            .verify("subscribe", &topic, &[("hub.lease_seconds", granted)])
            .await;
        assert_eq!(status, 200);
        let sub = w.websub.subscription(&w.id()).await.unwrap();
        assert_eq!(
            sub.lease_until,
            Some(w.ingest.now_ms() + expected_ms),
            "{granted}"
        );
    }
}

#[tokio::test]
async fn a_push_to_a_wrong_token_is_gone_even_when_signed() {
    let w = world(true).await;
    poll_cycle(&w.source, &w.ingest, &CancellationToken::new())
        .await
        .unwrap();
    let secret = w.subscribe_and_verify().await;
    let pushed = rss(None, &[("b", "Beta"), ("a", "Alpha")]);
    let sig = sign("sha256", pushed.as_bytes(), secret.as_bytes());
    for url in [
        format!("{}/0123456789abcdef0123456789abcdef", w.legacy_callback()),
        w.legacy_callback(),
    ] {
        let r = w
            .http
            .post(&url)
            .header("content-type", "application/rss+xml")
            .header("x-hub-signature", sig.clone().unwrap())
            .body(pushed.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 410, "{url}");
    }
    assert_eq!(w.titles().await, [("Alpha".to_string(), 0)]);
    assert_eq!(w.push(&pushed, sig).await.0, 200);
}

#[tokio::test]
async fn the_hub_post_does_not_follow_a_redirect_with_the_secret() {
    let w = world(true).await;
    // Where a redirect would take the form (plain http), and a hub that redirects there.
    let caught: Arc<Mutex<Vec<String>>> = Arc::default();
    let catcher = Router::new().route(
        "/steal",
        post({
            let caught = caught.clone();
            move |body: String| async move {
                caught.lock().unwrap().push(body);
                StatusCode::ACCEPTED
            }
        }),
    );
    let catcher = serve(catcher).await;
    let target = format!("http://{catcher}/steal");
    let hub = Router::new().route(
        "/hub",
        post(move || async move {
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, target.clone())],
            )
        }),
    );
    let hub = serve(hub).await;
    w.shared.links.lock().unwrap()[0] =
        format!(r#"<http://{hub}/hub>; rel="hub", <https://shed.example/topic>; rel="self""#);
    let err = w
        .websub
        .maintain(&w.id())
        .await
        .expect_err("a redirect is refused");
    assert!(err.to_string().contains("HTTP 307"), "{err}");
    assert!(caught.lock().unwrap().is_empty(), "the form was resent");
}

fn vault() -> Arc<Vault> {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string();
    Arc::new(
        Vault::from_env(&|n| (n == "PINBRIDGE_TOKEN_KEY").then(|| key.clone()))
            .unwrap()
            .unwrap(),
    )
}

/// Whether any file of the store's directory contains `needle`.
fn on_disk(w: &World, needle: &str) -> bool {
    crate::support::sled::on_disk(w.store.store.path(), needle)
}

/// A second subscriber on the same store (a restart), serving its own callback router.
async fn restarted(w: &World, vault: Option<Arc<Vault>>) -> (Arc<WebSub>, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let websub = Arc::new(
        WebSub::new(
            public.clone(),
            std::slice::from_ref(&w.source),
            w.ingest.clone(),
            WebSubSettings::default(),
        )
        .with_vault(vault),
    );
    let router = pinbridge::sources::websub::router(websub.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.ok() });
    let path = url::Url::parse(&w.callback()).unwrap().path().to_string();
    (
        websub,
        format!("{}{}", public.as_str().trim_end_matches('/'), path),
    )
}

async fn push_to(w: &World, url: &str, body: &str, secret: &str) -> u16 {
    let sig = sign("sha256", body.as_bytes(), secret.as_bytes()).unwrap();
    w.http
        .post(url)
        .header("content-type", "application/rss+xml")
        .header("x-hub-signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_subscription_secret_is_sealed_at_rest_and_still_verifies_after_a_restart() {
    let vault = vault();
    let w = world_with(true, Some(vault.clone())).await;
    poll_cycle(&w.source, &w.ingest, &CancellationToken::new())
        .await
        .unwrap();
    let secret = w.subscribe_and_verify().await;
    assert!(!on_disk(&w, &secret), "the secret is in the store's files");
    let (websub, callback) = restarted(&w, Some(vault)).await;
    let opened = websub.subscription(&w.id()).await.unwrap().secret.unwrap();
    assert_eq!(opened.expose_secret(), secret);
    let pushed = rss(None, &[("b", "Beta"), ("a", "Alpha")]);
    assert_eq!(push_to(&w, &callback, &pushed, &secret).await, 200);
    assert_eq!(w.titles().await.len(), 2);
}

#[tokio::test]
async fn a_secret_stored_in_plain_text_is_sealed_by_the_next_start() {
    let w = world(true).await;
    poll_cycle(&w.source, &w.ingest, &CancellationToken::new())
        .await
        .unwrap();
    let secret = w.subscribe_and_verify().await;
    assert!(
        on_disk(&w, &secret),
        "without keys the secret is stored as before"
    );
    let (websub, callback) = restarted(&w, Some(vault())).await;
    assert!(websub.seal_stored_secret(&w.id()).await.unwrap());
    let record = pinbridge::sources::websub::state::record_id(&w.id());
    let state = w.store.store.source_state(&record).await.unwrap();
    let raw = &state.extra["websub.secret"];
    assert!(
        raw.starts_with("sealed:v1:") && !raw.contains(&secret),
        "{raw}"
    );
    let pushed = rss(None, &[("b", "Beta"), ("a", "Alpha")]);
    assert_eq!(push_to(&w, &callback, &pushed, &secret).await, 200);
}
