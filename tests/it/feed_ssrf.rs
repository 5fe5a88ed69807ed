//! The address guard, end to end: without `allow_private`, nothing on loopback is fetched,
//! whether written as an IP literal or reached through DNS, and no request reaches the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use pinbridge::store::SourceState;

use crate::support::feed::{fixture, serve, source};

async fn counting_server() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new()
        .route(
            "/feed",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { fixture("rss2.xml") }
            }),
        )
        .route(
            "/to-file",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [(header::LOCATION, "file:///etc/passwd")],
                )
            }),
        );
    (serve(router).await, hits)
}

#[tokio::test]
async fn loopback_ip_literal_is_refused_by_default() {
    let (addr, hits) = counting_server().await;
    let err = source("s", &format!("http://{addr}/feed"), |s| {
        s.allow_private = false
    })
    .poll_once(&SourceState::default())
    .await
    .expect_err("refused");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "refused to fetch http://{addr}/feed: 127.0.0.1 is a loopback address"
        )),
        "{text}"
    );
    assert!(text.contains("allow_private = true"), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_after_resolution() {
    let (addr, hits) = counting_server().await;
    let err = source(
        "s",
        &format!("http://localhost:{}/feed", addr.port()),
        |s| s.allow_private = false,
    )
    .poll_once(&SourceState::default())
    .await
    .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("localhost resolves to"), "{text}");
    assert!(text.contains("loopback"), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn allow_private_lifts_the_guard_but_not_the_scheme_check() {
    let (addr, hits) = counting_server().await;
    let poll = source(
        "s",
        &format!("http://localhost:{}/feed", addr.port()),
        |s| s.allow_private = true,
    )
    .poll_once(&SourceState::default())
    .await
    .expect("allowed");
    assert_eq!(poll.items.len(), 3);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    let err = source("s", &format!("http://{addr}/to-file"), |s| {
        s.allow_private = true
    })
    .poll_once(&SourceState::default())
    .await
    .expect_err("file redirect");
    assert!(err.to_string().contains("file:///etc/passwd"), "{err}");
}

#[tokio::test]
async fn a_password_in_the_feed_url_never_reaches_the_error() {
    let (addr, _) = counting_server().await;
    let src = source("s", &format!("http://reader:hunter2@{addr}/feed"), |s| {
        s.allow_private = false
    });
    assert_eq!(
        src.display_url(),
        format!("http://reader:REDACTED@{addr}/feed")
    );
    let err = src
        .poll_once(&SourceState::default())
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("reader:REDACTED@"), "{text}");
    // Network failures too (nothing listens on port 9 of this loopback address).
    let err = source("s", "http://reader:hunter2@127.0.0.1:9/feed", |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect_err("refused");
    assert!(!format!("{err} {err:?}").contains("hunter2"), "{err:?}");
}
