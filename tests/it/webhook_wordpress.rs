//! WordPress REST payloads: the featured image comes from `_embedded` or is looked up at
//! `{site}/wp-json/wp/v2/media/{id}` on a real local server through the default fetcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinbridge::sources::webhook::{FetchError, HttpFetcher, MediaFetcher};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::webhook_support::*;

const SECRET: &str = "wpwh_secret";

/// A stand-in WordPress site that counts media lookups.
async fn media_site() -> (String, Arc<AtomicUsize>, CancellationToken) {
    let hits = Arc::new(AtomicUsize::new(0));
    async fn media(
        State(hits): State<Arc<AtomicUsize>>,
        Path(id): Path<u64>,
    ) -> axum::response::Response {
        hits.fetch_add(1, Ordering::SeqCst);
        match id {
            42 => axum::Json(json!({"id": 42, "source_url": "https://cdn.example/featured.jpg", "alt_text": "A cake"}))
                .into_response(),
            500 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            // Two MiB of JSON: over the fetcher's cap.
            666 => axum::Json(json!({"source_url": "x".repeat(2 * 1024 * 1024)})).into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/wp-json/wp/v2/media/{id}", axum::routing::get(media))
        .with_state(hits.clone());
    let (base, cancel) = serve(app).await;
    (base, hits, cancel)
}

fn post_body(media: u64, link: &str) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(&fixture("wordpress-rest-post.json")).unwrap();
    doc["featured_media"] = media.into();
    doc["link"] = link.into();
    serde_json::to_vec(&doc).unwrap()
}

fn headers(body: &[u8]) -> Vec<(String, String)> {
    vec![(
        "X-WP-Webhook-Signature".to_string(),
        sign_base64(SECRET, body),
    )]
}

fn wordpress(site: Option<&str>) -> pinbridge::sources::webhook::WebhookSettings {
    let mut s = pinbridge::sources::webhook::WebhookSettings::new(
        pinbridge::sources::webhook::Preset::Wordpress,
        &[SECRET],
    );
    s.site_url = site.map(str::to_string);
    s
}

#[tokio::test]
async fn the_featured_image_is_looked_up_on_the_site() {
    let (site, hits, _stop) = media_site().await;
    let h = Harness::start(
        vec![("wp", wordpress(Some(&site))), ("wp-link", wordpress(None))],
        0,
    )
    .await;

    let body = post_body(42, "https://blog.example/?p=4");
    let reply = h.post("wp", &headers(&body), body).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
    let stored = h.store.item("wp", "post:4").unwrap();
    assert_eq!(
        stored.item.image_url.as_deref(),
        Some("https://cdn.example/featured.jpg")
    );
    assert_eq!(stored.item.image_alt.as_deref(), Some("A cake"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // Without site_url the post link's origin is the site.
    let body = post_body(42, &format!("{site}/?p=4"));
    let reply = h.post("wp-link", &headers(&body), body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let stored = h.store.item("wp-link", "post:4").unwrap();
    assert_eq!(
        stored.item.image_url.as_deref(),
        Some("https://cdn.example/featured.jpg")
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn embedded_media_and_drafts_need_no_lookup() {
    let (site, hits, _stop) = media_site().await;
    let h = Harness::start(vec![("wp", wordpress(Some(&site)))], 0).await;
    let mut doc: Value =
        serde_json::from_slice(&post_body(42, "https://blog.example/?p=4")).unwrap();
    doc["_embedded"] = json!({"wp:featuredmedia": [{"source_url": "https://blog.example/embedded.jpg", "alt_text": ""}],
                              "wp:term": [[{"name": "Recipes"}], [{"name": "cake"}]]});
    let body = serde_json::to_vec(&doc).unwrap();
    assert_eq!(h.post("wp", &headers(&body), body).await.status, 200);
    let stored = h.store.item("wp", "post:4").unwrap();
    assert_eq!(
        stored.item.image_url.as_deref(),
        Some("https://blog.example/embedded.jpg")
    );
    assert_eq!(stored.item.image_alt, None);
    assert_eq!(stored.item.categories, ["Recipes", "cake"]);

    let mut draft: Value =
        serde_json::from_slice(&post_body(42, "https://blog.example/?p=5")).unwrap();
    draft["id"] = 5.into();
    draft["status"] = "draft".into();
    let body = serde_json::to_vec(&draft).unwrap();
    let reply = h.post("wp", &headers(&body), body).await;
    assert_eq!(
        (reply.status, reply.reason()),
        (200, "status is \"draft\", not \"publish\"")
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_missing_attachment_is_no_image_and_a_failing_site_is_503() {
    let (site, _hits, _stop) = media_site().await;
    let h = Harness::start(vec![("wp", wordpress(Some(&site)))], 0).await;
    let body = post_body(7, "https://blog.example/?p=4");
    let reply = h.post("wp", &headers(&body), body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(h.store.item("wp", "post:4").unwrap().item.image_url, None);

    for media in [500, 666] {
        let mut doc: Value =
            serde_json::from_slice(&post_body(media, "https://blog.example/?p=9")).unwrap();
        doc["id"] = 9.into();
        let body = serde_json::to_vec(&doc).unwrap();
        let reply = h.post("wp", &headers(&body), body).await;
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.retry_after.as_deref(), Some("30"));
        assert!(
            reply.error().starts_with("featured image lookup failed"),
            "{}",
            reply.text
        );
    }
    assert!(h.store.item("wp", "post:9").is_none());
}

#[tokio::test]
async fn the_fetcher_is_injectable() {
    struct Fixed(AtomicUsize);
    #[async_trait]
    impl MediaFetcher for Fixed {
        async fn get_json(&self, url: &url::Url) -> Result<Option<Value>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            assert_eq!(
                url.as_str(),
                "https://site.example/blog/wp-json/wp/v2/media/42"
            );
            Ok(Some(
                json!({"source_url": "https://site.example/guarded.jpg"}),
            ))
        }
    }
    let fetcher = Arc::new(Fixed(AtomicUsize::new(0)));
    let f = fetcher.clone();
    let h = Harness::start_with(
        vec![("wp", wordpress(Some("https://site.example/blog")))],
        0,
        move |s| s.with_fetcher(f),
    )
    .await;
    let body = post_body(42, "https://site.example/blog/?p=4");
    assert_eq!(h.post("wp", &headers(&body), body).await.status, 200);
    assert_eq!(fetcher.0.load(Ordering::SeqCst), 1);
    let stored = h.store.item("wp", "post:4").unwrap();
    assert_eq!(
        stored.item.image_url.as_deref(),
        Some("https://site.example/guarded.jpg")
    );
}

#[tokio::test]
async fn the_default_fetcher_caps_size_and_time() {
    let (site, _hits, _stop) = media_site().await;
    let fetcher = HttpFetcher::new(Duration::from_secs(5), 1024).unwrap();
    let url = url::Url::parse(&format!("{site}/wp-json/wp/v2/media/666")).unwrap();
    assert!(matches!(
        fetcher.get_json(&url).await,
        Err(FetchError::TooLarge { limit: 1024, .. })
    ));
    let url = url::Url::parse(&format!("{site}/wp-json/wp/v2/media/1")).unwrap();
    assert!(matches!(fetcher.get_json(&url).await, Ok(None)));
    // A server that accepts and never answers: the timeout ends the wait.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let fetcher = HttpFetcher::new(Duration::from_millis(300), 1024).unwrap();
    let url = url::Url::parse(&format!("http://{addr}/wp-json/wp/v2/media/1")).unwrap();
    assert!(matches!(
        fetcher.get_json(&url).await,
        Err(FetchError::Request { .. })
    ));
}
