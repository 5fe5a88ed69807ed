//! WordPress REST payloads: the featured image comes from `_embedded` or is looked up at
//! `{site}/wp-json/wp/v2/media/{id}` on a real local server through the default fetcher, which
//! is the feed sources' address guard: loopback and private addresses only with
//! `allow_private`, redirects checked hop by hop, and the sender told nothing about what
//! answered.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pinbridge::sources::feed::Fetcher;
use pinbridge::sources::webhook::receive::FETCH_FAILED;
use pinbridge::sources::webhook::{FetchError, HttpFetcher, MediaFetcher};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::webhook::*;

const SECRET: &str = "wpwh_secret";

/// A stand-in WordPress site that counts media lookups.
async fn media_site() -> (String, Arc<AtomicUsize>, CancellationToken) {
    let hits = Arc::new(AtomicUsize::new(0));
    async fn media(
        State(hits): State<Arc<AtomicUsize>>,
        Path(id): Path<u64>,
        headers: axum::http::HeaderMap,
    ) -> axum::response::Response {
        hits.fetch_add(1, Ordering::SeqCst);
        // The port this site was reached on, for redirects to other names of the same server.
        let port = headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit(':').next())
            .unwrap_or("80")
            .to_string();
        let moved =
            |to: String| (StatusCode::FOUND, [(axum::http::header::LOCATION, to)]).into_response();
        match id {
            // Redirects to the attachment 42 on a loopback IP literal, a name that resolves to
            // loopback, and a private address.
            301 => moved(format!("http://127.0.0.1:{port}/wp-json/wp/v2/media/42")),
            302 => moved(format!("http://localhost:{port}/wp-json/wp/v2/media/42")),
            303 => moved("http://10.0.0.1/wp-json/wp/v2/media/42".into()),
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
    // The stand-in site is on loopback.
    s.allow_private = true;
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
    let stored = h.item("wp", "post:4").await.unwrap();
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
    let stored = h.item("wp-link", "post:4").await.unwrap();
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
    let stored = h.item("wp", "post:4").await.unwrap();
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
    assert_eq!(reply.reason(), "no usable image");
    assert_eq!(
        h.item("wp", "skipped:post:4").await.unwrap().item.image_url,
        None
    );

    for media in [500, 666] {
        let mut doc: Value =
            serde_json::from_slice(&post_body(media, "https://blog.example/?p=9")).unwrap();
        doc["id"] = 9.into();
        let body = serde_json::to_vec(&doc).unwrap();
        let reply = h.post("wp", &headers(&body), body).await;
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.retry_after.as_deref(), Some("30"));
        // Only that it failed: neither the site's address nor what it answered.
        assert_eq!(reply.error(), FETCH_FAILED, "{}", reply.text);
    }
    assert!(h.item("wp", "post:9").await.is_none());
}

#[tokio::test]
async fn the_fetcher_is_injectable() {
    struct Fixed(AtomicUsize);
    #[async_trait]
    impl MediaFetcher for Fixed {
        async fn get_json(
            &self,
            url: &url::Url,
            allow_private: bool,
        ) -> Result<Option<Value>, FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            assert!(allow_private, "the source's setting is passed on");
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
    let stored = h.item("wp", "post:4").await.unwrap();
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
        fetcher.get_json(&url, true).await,
        Err(FetchError::TooLarge { limit: 1024, .. })
    ));
    let url = url::Url::parse(&format!("{site}/wp-json/wp/v2/media/1")).unwrap();
    assert!(matches!(fetcher.get_json(&url, true).await, Ok(None)));
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
        fetcher.get_json(&url, true).await,
        Err(FetchError::Request { .. })
    ));
}

#[tokio::test]
async fn a_featured_image_on_a_private_address_is_refused_unless_allowed() {
    let (site, hits, _stop) = media_site().await;
    let mut guarded = wordpress(Some(&site));
    guarded.allow_private = false;
    let mut by_link = wordpress(None);
    by_link.allow_private = false;
    let h = Harness::start(
        vec![
            ("wp", guarded),
            ("wp-link", by_link),
            ("wp-private", wordpress(Some(&site))),
        ],
        0,
    )
    .await;
    // site_url on loopback, and (without site_url) a post link on loopback.
    for (source, link) in [
        ("wp", "https://blog.example/?p=4".to_string()),
        ("wp-link", format!("{site}/?p=4")),
    ] {
        let body = post_body(42, &link);
        let reply = h.post(source, &headers(&body), body).await;
        assert_eq!(reply.status, 503, "{}", reply.text);
        assert_eq!(reply.error(), FETCH_FAILED, "{}", reply.text);
        assert!(!reply.text.contains("127.0.0.1"), "{}", reply.text);
        assert!(h.item(source, "post:4").await.is_none());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request left pinbridge");
    let body = post_body(42, "https://blog.example/?p=4");
    let reply = h.post("wp-private", &headers(&body), body).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let (site, hits, _stop) = media_site().await;
    let addr: std::net::SocketAddr = site.trim_start_matches("http://").parse().unwrap();
    // `wp.test` stands in for a public site: pinned to the loopback server, exempt from the
    // guard for that name only. Where it redirects is guarded as usual.
    let fetcher = HttpFetcher::with_fetcher(
        Fetcher::new().with_pinned_host("wp.test", addr),
        Duration::from_secs(5),
        1024 * 1024,
    );
    let at = |id: u64| {
        url::Url::parse(&format!(
            "http://wp.test:{}/wp-json/wp/v2/media/{id}",
            addr.port()
        ))
        .unwrap()
    };
    let direct = fetcher
        .get_json(&at(42), false)
        .await
        .expect("the public site answers");
    assert_eq!(
        direct.unwrap()["source_url"],
        "https://cdn.example/featured.jpg"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    for (id, why) in [
        (301, "loopback"),
        (302, "localhost resolves to"),
        (303, "private network"),
    ] {
        let err = fetcher
            .get_json(&at(id), false)
            .await
            .expect_err("redirect refused");
        assert!(matches!(err, FetchError::Blocked(_)), "{err:?}");
        assert!(err.to_string().contains(why), "{id}: {err}");
    }
    // Three redirects answered; none of their targets was reached.
    assert_eq!(hits.load(Ordering::SeqCst), 4);

    // Through a webhook delivery: refused, and the sender learns nothing of it.
    let mut settings = wordpress(Some(&format!("http://wp.test:{}", addr.port())));
    settings.allow_private = false;
    let f: Arc<dyn MediaFetcher> = Arc::new(fetcher.clone());
    let h = Harness::start_with(vec![("wp", settings)], 0, move |s| s.with_fetcher(f)).await;
    let body = post_body(301, "https://blog.example/?p=4");
    let reply = h.post("wp", &headers(&body), body).await;
    assert_eq!(
        (reply.status, reply.error()),
        (503, FETCH_FAILED),
        "{}",
        reply.text
    );
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    assert!(h.item("wp", "post:4").await.is_none());

    // With allow_private the same redirect is followed.
    let allowed = fetcher.get_json(&at(301), true).await.expect("followed");
    assert_eq!(allowed.unwrap()["alt_text"], "A cake");
}
