//! WooCommerce `product.created` / `product.updated` → `Item` keyed by product id, only for
//! `status = publish`; `product.deleted`, and a product whose status is no longer `publish`
//! (trashed, draft, private), → the product removed (its Pins follow the routes'
//! `on_delete`). Also recognises the unsigned creation ping (`webhook_id=N`).

use axum::http::HeaderMap;

use super::{Input, MapError, Mapped, by_status, naive_utc_ms, non_empty, topic_or_ignored};
use crate::item::{DedupKey, Item};
use crate::sources::webhook::json::At;

pub const TOPIC_HEADER: &str = "X-WC-Webhook-Topic";
pub const SIGNATURE_HEADER: &str = "X-WC-Webhook-Signature";
const TOPICS: [&str; 3] = ["product.created", "product.updated", "product.deleted"];

/// WooCommerce's creation ping: an unsigned form body `webhook_id=<n>` that must get a 200.
pub fn is_ping(headers: &HeaderMap, body: &[u8]) -> bool {
    if headers.contains_key(SIGNATURE_HEADER) || body.len() > 64 {
        return false;
    }
    let mut pairs = url::form_urlencoded::parse(body);
    match (pairs.next(), pairs.next()) {
        (Some((key, value)), None) => {
            key == "webhook_id" && !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

pub fn map(input: &Input<'_>) -> Result<Mapped, MapError> {
    let topic = match topic_or_ignored(input, TOPIC_HEADER, &TOPICS)? {
        Ok(topic) => topic,
        Err(ignored) => return Ok(ignored),
    };
    let root = At::root(input.doc);
    let id = root.get("id").req_id()?;
    if topic == "product.deleted" {
        // The body of a deletion carries the id alone.
        return Ok(Mapped::Removed {
            key: DedupKey::new("product", &id),
            reason: topic,
        });
    }
    let mut item = Item::new(input.source.clone(), DedupKey::new("product", &id));
    item.title = root.get("name").req_str()?.to_string();
    item.description = match root.get("short_description").opt_text()? {
        Some(short) => short.to_string(),
        None => root.get("description").opt_str()?.unwrap_or("").to_string(),
    };
    item.link = root.get("permalink").opt_text()?.map(str::to_string);
    let image = root.get("images").index(0);
    item.image_url = image.get("src").opt_text()?.map(str::to_string);
    item.image_alt = non_empty(image.get("alt").opt_str()?);
    for list in ["categories", "tags"] {
        let terms = root.get(list);
        for i in 0..terms.opt_array()?.len() {
            if let Some(name) = terms.index(i).get("name").opt_text()? {
                item.categories.push(name.to_string());
            }
        }
    }
    item.published_ms = root
        .get("date_created_gmt")
        .opt_str()?
        .and_then(naive_utc_ms);
    item.updated_ms = root
        .get("date_modified_gmt")
        .opt_str()?
        .and_then(naive_utc_ms);
    Ok(by_status(item, root.get("status").opt_str()?, "publish"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_creation_ping_is_recognised_only_unsigned() {
        let empty = HeaderMap::new();
        assert!(is_ping(&empty, b"webhook_id=12"));
        assert!(!is_ping(&empty, b"webhook_id=12&x=1"));
        assert!(!is_ping(&empty, b"webhook_id="));
        assert!(!is_ping(&empty, b"{\"webhook_id\":12}"));
        let mut signed = HeaderMap::new();
        signed.insert(SIGNATURE_HEADER, "abc".parse().unwrap());
        assert!(!is_ping(&signed, b"webhook_id=12"));
    }
}
