//! A Shopify storefront's public catalogue → `Item`s keyed by `product:<id>`.
//!
//! Two ways in: `/products.json?limit=250&page=N` (no auth; pages until an empty one, and never
//! past Shopify's ceiling of page × limit = 25,000), or a collection's Atom feed
//! (`/collections/{handle}.atom`), read by the feed parser. Either way through the feed module's
//! guarded fetcher.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use std::collections::BTreeSet;

use super::error::ShopError;
use super::settings::{ShopifySettings, check_base};
use super::{Fetched, JSON_ACCEPT};
use crate::ingest::context::KnownItems;
use crate::item::{DedupKey, Item, SourceId};
use crate::sources::feed::images::MinSize;
use crate::sources::feed::parse;
use crate::sources::poll::fetch::FEED_ACCEPT;
use crate::sources::poll::{FeedError, Fetcher};

/// Products per page: Shopify's maximum.
pub const LIMIT: usize = 250;
/// Shopify answers 400 beyond page × limit = 25,000.
pub const MAX_PAGE: usize = 25_000 / LIMIT;

#[derive(Deserialize)]
struct Products {
    products: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Product {
    id: u64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    handle: Option<String>,
    #[serde(default)]
    body_html: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    product_type: Option<String>,
    /// A list on storefronts, a comma-separated string in the Admin API's shape.
    #[serde(default)]
    tags: Tags,
    #[serde(default)]
    variants: Vec<Variant>,
    #[serde(default)]
    images: Vec<ProductImage>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Tags {
    List(Vec<String>),
    Text(String),
    #[default]
    None,
}

#[derive(Deserialize)]
struct Variant {
    #[serde(default)]
    price: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct ProductImage {
    src: String,
    #[serde(default)]
    alt: Option<String>,
}

/// One configured Shopify storefront.
pub struct ShopifySource {
    id: SourceId,
    settings: ShopifySettings,
    store: Url,
    fetcher: Fetcher,
}

impl ShopifySource {
    pub fn new(id: SourceId, settings: ShopifySettings, fetcher: Fetcher) -> Result<Self, String> {
        let store = check_base(&settings.store)?;
        Ok(Self {
            id,
            settings,
            store,
            fetcher,
        })
    }

    pub fn id(&self) -> &SourceId {
        &self.id
    }

    pub fn settings(&self) -> &ShopifySettings {
        &self.settings
    }

    /// Every published product, oldest first.
    pub async fn fetch(&self) -> Result<Vec<Item>, ShopError> {
        Ok(self.fetch_listing().await?.items)
    }

    /// Every published product, oldest first, and (for `products.json` read to its empty last
    /// page) the keys of all of them. A collection's feed is not the whole catalogue: it never
    /// says a product is gone.
    pub async fn fetch_listing(&self) -> Result<Fetched, ShopError> {
        let (items, listing) = match &self.settings.collection {
            Some(handle) => (self.fetch_collection(handle.trim()).await?, None),
            None => self.fetch_products().await?,
        };
        Ok(Fetched {
            listed: items.len(),
            items,
            gone: Vec::new(),
            listing,
        })
    }

    /// Of `keys` (products missing from complete passes past the grace), the ones the
    /// storefront confirms are gone: `/products/<handle>.json` answers 404 (or the handle is
    /// not known). One that still answers was only missed by the paging, and is kept.
    pub async fn confirm_gone<K: KnownItems + ?Sized>(
        &self,
        known: &K,
        keys: Vec<DedupKey>,
    ) -> Result<Vec<DedupKey>, ShopError> {
        let opts = self.settings.polling().fetch_options(JSON_ACCEPT);
        let mut gone = Vec::new();
        for key in keys {
            let handle = known
                .known_item(&self.id, &key)
                .await?
                .and_then(|stored| stored.item.fields.get("handle").cloned());
            let Some(handle) = handle else {
                gone.push(key);
                continue;
            };
            let url = self.url(&["products", &format!("{handle}.json")], &[]);
            match self.fetcher.get(&url, &opts).await {
                Ok(_) => {}
                Err(FeedError::Http {
                    status: 404 | 410, ..
                }) => gone.push(key),
                Err(source) => {
                    return Err(ShopError::Fetch {
                        what: format!("the Shopify product `{handle}`"),
                        source,
                    });
                }
            }
        }
        Ok(gone)
    }

    async fn fetch_products(&self) -> Result<(Vec<Item>, Option<BTreeSet<DedupKey>>), ShopError> {
        let opts = self.settings.polling().fetch_options(JSON_ACCEPT);
        let mut items = Vec::new();
        // Every product listed, readable or not (an unreadable one is not gone).
        let mut listed = BTreeSet::new();
        let mut complete = false;
        for page in 1..=MAX_PAGE {
            let url = self.url(
                &["products.json"],
                &[("limit", LIMIT.to_string()), ("page", page.to_string())],
            );
            let what = format!("Shopify products page {page}");
            let response =
                self.fetcher
                    .get(&url, &opts)
                    .await
                    .map_err(|source| ShopError::Fetch {
                        what: what.clone(),
                        source,
                    })?;
            let body: Products =
                serde_json::from_slice(&response.body).map_err(|e| ShopError::Json {
                    what: what.clone(),
                    message: e.to_string(),
                })?;
            if body.products.is_empty() {
                complete = true;
                break;
            }
            for value in body.products {
                if let Some(id) = value.get("id").and_then(serde_json::Value::as_u64) {
                    listed.insert(product_key(id));
                }
                match serde_json::from_value::<Product>(value) {
                    Ok(product) => items.extend(self.to_item(product)),
                    Err(err) => {
                        tracing::warn!(source = %self.id, error = %err, "Skipping a Shopify product pinbridge cannot read.");
                    }
                }
            }
        }
        items.sort_by_key(|i| i.published_ms.unwrap_or(i64::MAX));
        Ok((items, complete.then_some(listed)))
    }

    async fn fetch_collection(&self, handle: &str) -> Result<Vec<Item>, ShopError> {
        let url = self.url(&["collections", &format!("{handle}.atom")], &[]);
        let opts = self.settings.polling().fetch_options(FEED_ACCEPT);
        let response = self
            .fetcher
            .get(&url, &opts)
            .await
            .map_err(|source| ShopError::Fetch {
                what: format!("the Shopify collection `{handle}`"),
                source,
            })?;
        let source = self.id.clone();
        let base = response.url.clone();
        let content_type = response.content_type.clone();
        // feed-rs is not Send and parsing takes milliseconds: off the async threads.
        let parsed = tokio::task::spawn_blocking(move || {
            parse::parse_feed(
                &source,
                &response.body,
                content_type.as_deref(),
                &base,
                MinSize::default(),
            )
        })
        .await
        .map_err(|e| {
            ShopError::Feed(crate::sources::poll::FeedError::Parse {
                message: format!("the parser stopped unexpectedly: {e}"),
            })
        })?
        .map_err(ShopError::Feed)?;
        Ok(parsed.items.into_iter().map(rekey_atom).collect())
    }

    fn url(&self, path: &[&str], query: &[(&str, String)]) -> Url {
        let mut url = self.store.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// `None` for products that are not published.
    fn to_item(&self, p: Product) -> Option<Item> {
        let published = p.published_at.as_deref().filter(|s| !s.trim().is_empty())?;
        let mut item = Item::new(self.id.clone(), product_key(p.id));
        item.published_ms = OffsetDateTime::parse(published.trim(), &Rfc3339)
            .ok()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
        item.title = p.title.unwrap_or_default();
        item.description = p.body_html.unwrap_or_default();
        if let Some(handle) = p.handle.as_deref().filter(|h| !h.trim().is_empty()) {
            item.link = Some(self.url(&["products", handle.trim()], &[]).to_string());
            item.fields
                .insert("handle".into(), handle.trim().to_string());
        }
        if let Some(image) = p.images.into_iter().next() {
            item.image_url = Some(image.src);
            item.image_alt = image.alt.filter(|a| !a.trim().is_empty());
        }
        let price = p.variants.into_iter().next().and_then(|v| match v.price {
            Some(serde_json::Value::String(s)) => Some(s),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
        if let Some(price) = price {
            item.fields.insert("price".into(), price);
        }
        for (key, value) in [("vendor", p.vendor), ("product_type", p.product_type)] {
            if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
                item.fields.insert(key.into(), value);
            }
        }
        item.fields.insert("product_id".into(), p.id.to_string());
        item.categories = match p.tags {
            Tags::List(tags) => tags,
            Tags::Text(text) => text.split(',').map(str::to_string).collect(),
            Tags::None => Vec::new(),
        }
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
        Some(item)
    }
}

/// The dedup key of a product (the same form the Shopify webhook preset uses).
pub fn product_key(id: u64) -> DedupKey {
    DedupKey::new("product", &id.to_string())
}

/// Shopify's Atom entries have ids like `https://shop/products/123`: key them by product id
/// like products.json does, so switching between the two does not pin a product again.
fn rekey_atom(mut item: Item) -> Item {
    let id = item
        .key
        .as_str()
        .strip_prefix("guid:")
        .and_then(|guid| guid.trim_end_matches('/').rsplit_once("/products/"))
        .and_then(|(_, id)| id.parse::<u64>().ok());
    if let Some(id) = id {
        item.key = product_key(id);
        item.fields.insert("product_id".into(), id.to_string());
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_ids_become_product_keys() {
        let item = Item::new(
            SourceId::new("s"),
            DedupKey::new("guid", "https://shop.example.com/products/4242"),
        );
        assert_eq!(rekey_atom(item).key.as_str(), "product:4242");
        let other = Item::new(SourceId::new("s"), DedupKey::new("guid", "urn:x:1"));
        assert_eq!(rekey_atom(other).key.as_str(), "guid:urn:x:1");
    }
}
