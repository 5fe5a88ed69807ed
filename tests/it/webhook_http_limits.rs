//! The webhook endpoint at its edges: bodies over the limit are 413 (with or without a
//! Content-Length, answered before the body is sent), unknown sources are 404, and a store error
//! is 503 with Retry-After until a retry succeeds.

use std::sync::atomic::Ordering;

use crate::support::webhook::*;

#[tokio::test]
async fn oversized_bodies_are_413_with_and_without_content_length() {
    let v = vector("shopify-products-update");
    let mut small = shopify_settings(&v.secret);
    small.max_body_bytes = 1000;
    let h = Harness::start(
        vec![("shopify", shopify_settings(&v.secret)), ("small", small)],
        0,
    )
    .await;
    let five_mib = vec![b' '; 5 * 1024 * 1024];
    let reply = h.post("shopify", &v.headers, five_mib.clone()).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.error(), "body larger than 1048576 bytes");
    // Chunked: no Content-Length, the cap applies while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        five_mib.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    let stream = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let reply = h.post("shopify", &v.headers, stream).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    // A per-source limit.
    let reply = h.post("small", &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (413, "body larger than 1000 bytes")
    );
    assert!(h.items().await.is_empty());
}

#[tokio::test]
async fn unknown_sources_are_404() {
    let h = Harness::start(vec![], 0).await;
    let reply = h.post("nope", &[], b"{}".to_vec()).await;
    assert_eq!(
        (reply.status, reply.error()),
        (404, "unknown webhook source \"nope\"")
    );
}

#[tokio::test]
async fn a_store_error_is_503_with_retry_after_and_the_retry_then_succeeds() {
    let v = vector("shopify-products-update");
    let h = Harness::start(vec![("shopify", shopify_settings(&v.secret))], 0).await;
    h.store.failing.store(true, Ordering::SeqCst);
    let reply = h.post("shopify", &v.headers, v.body.clone()).await;
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.retry_after.as_deref(), Some("30"));
    assert!(
        !reply.text.contains("disk on fire"),
        "store internals stay in the log: {}",
        reply.text
    );
    h.store.failing.store(false, Ordering::SeqCst);
    // The same delivery again: its id was not recorded by the failed attempt.
    let reply = h.post("shopify", &v.headers, v.body.clone()).await;
    assert_eq!(
        (reply.status, reply.answer()),
        (200, "accepted"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_too_large_content_length_is_answered_before_any_body_is_sent() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let v = vector("shopify-products-update");
    let h = Harness::start(vec![("shopify", shopify_settings(&v.secret))], 0).await;
    let addr = h.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "POST /hooks/shopify HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Content-Length: 5242880\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    // Not one body byte is sent: the answer can only come from the header. The deadline only
    // keeps a broken receiver from hanging the test.
    let mut response = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => response.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), read)
        .await
        .expect("the receiver answers without waiting for the body");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
}
