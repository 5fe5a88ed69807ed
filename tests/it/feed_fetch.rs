//! Fetching over real HTTP: conditional GET, redirects, limits and readable network errors.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use pinbridge::store::SourceState;
use tokio_util::sync::CancellationToken;

use crate::support::feed::{fixture, ingest, serve, sled_store, source};
use pinbridge::sources::feed::{PollReport, poll_cycle};

type Seen = Arc<Mutex<Vec<HeaderMap>>>;

/// Serves rss2.xml with validators, answering 304 when the client sends them back.
async fn conditional(State(seen): State<Seen>, headers: HeaderMap) -> Response {
    seen.lock().unwrap().push(headers.clone());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some("\"v1\"")
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, "\"v1\"")]).into_response();
    }
    (
        [
            (header::ETAG, "\"v1\""),
            (header::LAST_MODIFIED, "Wed, 03 Apr 2024 10:00:00 GMT"),
            (header::CONTENT_TYPE, "application/rss+xml"),
        ],
        fixture("rss2.xml"),
    )
        .into_response()
}

#[tokio::test]
async fn conditional_get_sends_validators_and_304_keeps_state() {
    let seen: Seen = Arc::default();
    let addr = serve(
        Router::new()
            .route("/feed", get(conditional))
            .with_state(seen.clone()),
    )
    .await;
    let src = source("blog", &format!("http://{addr}/feed"), |_| {});
    let store = sled_store().await;
    let (ingest, _clock) = ingest(store.store.clone(), "blog");
    let token = CancellationToken::new();

    let first = poll_cycle(&src, &ingest, &token)
        .await
        .expect("state saved");
    assert!(
        matches!(
            first,
            PollReport::Polled {
                items: 3,
                new: 3,
                pinned: 0,
                ..
            }
        ),
        "{first:?}"
    );
    let state = store.state("blog").await;
    assert_eq!(state.etag.as_deref(), Some("\"v1\""));
    assert_eq!(
        state.last_modified.as_deref(),
        Some("Wed, 03 Apr 2024 10:00:00 GMT")
    );

    let second = poll_cycle(&src, &ingest, &token)
        .await
        .expect("state saved");
    assert!(
        matches!(
            second,
            PollReport::Polled {
                not_modified: true,
                new: 0,
                ..
            }
        ),
        "{second:?}"
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].get(header::IF_NONE_MATCH).is_none());
    assert_eq!(requests[1].get(header::IF_NONE_MATCH).unwrap(), "\"v1\"");
    assert_eq!(
        requests[1].get(header::IF_MODIFIED_SINCE).unwrap(),
        "Wed, 03 Apr 2024 10:00:00 GMT"
    );
    let ua = requests[0]
        .get(header::USER_AGENT)
        .unwrap()
        .to_str()
        .unwrap();
    // No contact configured: who we are, and no address pinbridge does not own.
    assert_eq!(ua, concat!("pinbridge/", env!("CARGO_PKG_VERSION")), "{ua}");
    assert!(
        requests[0]
            .get(header::ACCEPT)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("application/rss+xml")
    );
    // The 304 kept the validators and the baseline, and recorded nothing new.
    let after = store.state("blog").await;
    assert_eq!(after.etag.as_deref(), Some("\"v1\""));
    assert!(after.baselined);
    assert_eq!(after.error_count, 0);
    assert_eq!(store.recorded("blog").await.len(), 3);
}

#[tokio::test]
async fn redirects_are_followed_and_loops_stop() {
    let router = Router::new()
        .route(
            "/old",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/feed")]) }),
        )
        .route("/feed", get(|| async { fixture("atom.xml") }))
        .route(
            "/loop",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
        );
    let addr = serve(router).await;
    let poll = source("s", &format!("http://{addr}/old"), |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect("followed");
    assert_eq!(poll.items.len(), 2);
    let err = source("s", &format!("http://{addr}/loop"), |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect_err("loop");
    assert!(
        err.to_string().starts_with("more than 5 redirects"),
        "{err}"
    );
}

static CHUNK: [u8; 1 << 20] = [b' '; 1 << 20];

#[tokio::test]
async fn a_huge_streamed_body_stops_at_the_limit() {
    // 100 MiB, streamed without Content-Length, never held in memory by the server.
    let router = Router::new().route(
        "/huge",
        get(|| async {
            let chunks = futures::stream::iter(
                (0..100).map(|_| Ok::<_, std::io::Error>(Bytes::from_static(&CHUNK))),
            );
            Body::from_stream(chunks)
        }),
    );
    let addr = serve(router).await;
    let err = source("s", &format!("http://{addr}/huge"), |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect_err("too large");
    assert_eq!(
        err.to_string(),
        "the feed is larger than the limit of 15728640 bytes (raise `max_body_bytes` if it is genuine)"
    );
}

#[tokio::test]
async fn the_limit_counts_decompressed_bytes() {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    // 4 MiB of spaces gzip to a few KiB: the cap must apply to what it expands to.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    for _ in 0..4 {
        encoder.write_all(&CHUNK).unwrap();
    }
    let gz = encoder.finish().unwrap();
    assert!(gz.len() < 64 * 1024);
    let router = Router::new().route(
        "/bomb",
        get(move || async move { ([(header::CONTENT_ENCODING, "gzip")], gz) }),
    );
    let addr = serve(router).await;
    let err = source("s", &format!("http://{addr}/bomb"), |s| {
        s.max_body_bytes = 1 << 20
    })
    .poll_once(&SourceState::default())
    .await
    .expect_err("too large once decompressed");
    assert!(err.to_string().contains("limit of 1048576 bytes"), "{err}");
}

#[tokio::test]
async fn unreachable_host_is_named_in_the_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = source("s", &format!("http://{addr}/feed"), |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(
        err.to_string(),
        format!("could not connect to {addr}: connection refused")
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let router = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "never"
        }),
    );
    let addr = serve(router).await;
    let err = source("s", &format!("http://{addr}/slow"), |s| {
        s.timeout = Duration::from_millis(300)
    })
    .poll_once(&SourceState::default())
    .await
    .expect_err("timeout");
    assert_eq!(err.to_string(), "timed out after 300ms");
}

#[tokio::test]
async fn http_errors_name_the_status() {
    let router = Router::new()
        .route("/gone", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/busy",
            get(|| async {
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(header::RETRY_AFTER, "7200")],
                )
            }),
        );
    let addr = serve(router).await;
    let err = source("s", &format!("http://{addr}/gone"), |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect_err("404");
    assert_eq!(err.to_string(), "the server answered HTTP 404 (Not Found)");
    let err = source("s", &format!("http://{addr}/busy"), |_| {})
        .poll_once(&SourceState::default())
        .await
        .expect_err("429");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7200)));
}

#[tokio::test]
async fn fetches_to_one_host_are_capped() {
    use pinbridge::sources::feed::fetch::FetchLimits;
    use pinbridge::sources::feed::{FeedSettings, FeedSource, Fetcher};
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone, Default)]
    struct Gauge {
        now: Arc<AtomicUsize>,
        max: Arc<AtomicUsize>,
    }
    let gauge = Gauge::default();
    let router = Router::new()
        .route(
            "/feed",
            get(|State(g): State<Gauge>| async move {
                let now = g.now.fetch_add(1, Ordering::SeqCst) + 1;
                g.max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                g.now.fetch_sub(1, Ordering::SeqCst);
                fixture("rss2.xml")
            }),
        )
        .with_state(gauge.clone());
    let addr = serve(router).await;
    let fetcher = Fetcher::with_limits(FetchLimits {
        global: 16,
        per_host: 2,
    });
    let polls = (0..6).map(|i| {
        let mut settings = FeedSettings::for_url(format!("http://{addr}/feed"));
        settings.allow_private = true;
        let src = FeedSource::new(
            pinbridge::item::SourceId::new(format!("s{i}")),
            settings,
            fetcher.clone(),
        )
        .expect("source");
        async move { src.poll_once(&SourceState::default()).await }
    });
    for result in futures::future::join_all(polls).await {
        assert_eq!(result.expect("polled").items.len(), 3);
    }
    let max = gauge.max.load(Ordering::SeqCst);
    assert!(
        (1..=2).contains(&max),
        "at most 2 at once against one host, saw {max}"
    );
}
