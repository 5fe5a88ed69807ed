//! Signed Shopify product deliveries, as the shop sends them.

use base64::Engine;
use hmac::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A Shopify product (as in `products/create`) with this id; handle `mug-<id>`.
pub fn product(id: u64) -> String {
    format!(
        r#"{{"id":{id},"title":"Mug {id}","body_html":"<p>Mug.</p>","handle":"mug-{id}","status":"active","published_at":"2026-11-20T10:00:00-05:00","variants":[{{"id":1,"price":"28.00"}}],"images":[{{"id":2,"position":1,"src":"https://cdn.shop.example/{id}.jpg"}}],"image":{{"id":2,"src":"https://cdn.shop.example/{id}.jpg"}}}}"#
    )
}

/// POST one signed Shopify product delivery; the status, or `None` when the request failed.
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    hook: &str,
    secret: &str,
    id: u64,
) -> Option<u16> {
    let body = product(id);
    let signature = signature(secret, &body);
    let answer = client
        .post(format!("{base}/hooks/{hook}"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", "live.myshopify.com")
        .header("x-shopify-webhook-id", format!("delivery-{id}"))
        .body(body)
        .send()
        .await
        .ok()?;
    Some(answer.status().as_u16())
}

/// `X-Shopify-Hmac-Sha256` for `body`: base64 of its HMAC-SHA256 under `secret`.
pub fn signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Product number `i` of a run whose ids start at `first_id`: handle `product-<i>`, one image.
pub fn numbered_product(first_id: usize, i: usize) -> String {
    serde_json::json!({
        "id": first_id + i,
        "title": format!("Product {i}"),
        "body_html": format!("<p>Product number {i}.</p>"),
        "handle": format!("product-{i}"),
        "status": "active",
        "published_at": "2026-11-20T10:00:00-05:00",
        "variants": [{"id": 1, "price": "10.00"}],
        "images": [{"id": 1, "position": 1, "src": format!("https://cdn.shop.example/{i}.jpg")}],
        "image": {"id": 1, "src": format!("https://cdn.shop.example/{i}.jpg")}
    })
    .to_string()
}

/// The POST of product `i`'s `products/create` delivery (`body`, signed as `signature`) as
/// the shop sends it, every retry with the same event and webhook ids.
pub fn delivery(
    http: &reqwest::Client,
    url: String,
    shop_domain: &str,
    i: impl std::fmt::Display,
    body: &str,
    signature: &str,
) -> reqwest::RequestBuilder {
    http.post(url)
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", shop_domain)
        .header("x-shopify-event-id", format!("event-{i}"))
        .header("x-shopify-webhook-id", format!("hook-{i}"))
        .header("x-shopify-api-version", "2026-04")
        .body(body.to_string())
}
