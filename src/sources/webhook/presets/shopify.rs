//! Shopify `products/create` and `products/update` → `Item` keyed by product id;
//! `products/delete`, and a product whose `status` is not `active` (draft, archived), → the
//! product removed (its Pins follow the routes' `on_delete`; the latter is also recorded as
//! skipped, as before).
//!
//! The payload has no storefront link, so the Pin links to `storefront_url/products/<handle>`.
//! Only fields a Pin shows go into the fingerprint (the price is kept for templates): an update fired by an order or a price change
//! produces an identical item, so the store calls it a duplicate.

use url::Url;

use super::{Input, MapError, Mapped, non_empty, rfc3339_ms, topic_or_ignored};
use crate::item::{DedupKey, Item};
use crate::sources::webhook::json::At;
use crate::sources::webhook::mapping::split_tags;

pub const TOPIC_HEADER: &str = "X-Shopify-Topic";
const TOPICS: [&str; 3] = ["products/create", "products/update", "products/delete"];

#[derive(Clone, Debug)]
pub struct Shopify {
    storefront: Url,
}

impl Shopify {
    pub fn new(storefront_url: &str) -> Result<Self, String> {
        let mut storefront = Url::parse(storefront_url.trim())
            .map_err(|e| format!("storefront_url is not a URL: {e}"))?;
        if storefront.cannot_be_a_base() {
            return Err("storefront_url must be an http(s) URL".into());
        }
        storefront.set_query(None);
        storefront.set_fragment(None);
        Ok(Self { storefront })
    }

    fn product_url(&self, handle: &str) -> String {
        let mut url = self.storefront.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("products").push(handle);
        }
        url.to_string()
    }

    pub fn map(&self, input: &Input<'_>) -> Result<Mapped, MapError> {
        let topic = match topic_or_ignored(input, TOPIC_HEADER, &TOPICS)? {
            Ok(topic) => topic,
            Err(ignored) => return Ok(ignored),
        };
        let root = At::root(input.doc);
        let id = root.get("id").req_id()?;
        if topic == "products/delete" {
            return Ok(Mapped::Removed {
                key: DedupKey::new("product", &id),
                reason: "products/delete".into(),
            });
        }

        let mut item = Item::new(input.source.clone(), DedupKey::new("product", &id));
        item.title = root.get("title").req_str()?.to_string();
        item.description = root.get("body_html").opt_str()?.unwrap_or("").to_string();
        let handle = root.get("handle").opt_text()?;
        item.link = handle.map(|h| self.product_url(h));
        let (image, alt) = image_of(&root)?;
        item.image_url = image;
        item.image_alt = alt;
        item.categories = split_tags(root.get("tags").opt_str()?.unwrap_or(""));
        item.published_ms = root.get("published_at").opt_str()?.and_then(rfc3339_ms);
        item.updated_ms = root.get("updated_at").opt_str()?.and_then(rfc3339_ms);
        for key in ["vendor", "product_type"] {
            if let Some(value) = root.get(key).opt_text()? {
                item.fields.insert(key.to_string(), value.to_string());
            }
        }
        if let Some(h) = handle {
            item.fields.insert("handle".into(), h.to_string());
        }
        // For templates ("{{ title }} · {{ price }}"). Not in the fingerprint: a price change
        // alone is not a new Pin.
        let first_variant = root.get("variants").index(0);
        // Lenient: a price of an unexpected type leaves the field out rather than refusing the
        // delivery.
        if let Ok(Some(price)) = first_variant.get("price").opt_text() {
            item.fields.insert("price".into(), price.to_string());
        }
        Ok(match root.get("status").opt_str()? {
            Some("active") => Mapped::item(item, None),
            // Draft or archived: nothing to pin, and a Pin made while it was active follows
            // the routes' `on_delete`.
            Some(other) => {
                Mapped::unpublished(item, format!("status is {other:?}, not \"active\""))
            }
            None if root.get("published_at").is_present() => Mapped::item(item, None),
            None => Mapped::item(
                item,
                Some("not published: published_at is null".to_string()),
            ),
        })
    }
}

/// `images[0]`, else `image`, else `media[0].preview_image`: src and alt.
fn image_of(root: &At<'_>) -> Result<(Option<String>, Option<String>), MapError> {
    for candidate in [
        root.get("images").index(0),
        root.get("image"),
        root.get("media").index(0).get("preview_image"),
    ] {
        if let Some(src) = candidate.get("src").opt_text()? {
            let alt = non_empty(candidate.get("alt").opt_str()?);
            return Ok((Some(src.to_string()), alt));
        }
    }
    Ok((None, None))
}
