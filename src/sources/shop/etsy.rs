//! Etsy Open API v3: a shop's active listings (or a user's favorites) → `Item`s keyed by
//! `listing:<id>`.
//!
//! Calls are the scarce resource (10,000 a day per key), so a poll reads the cheap id pages
//! (100 listings a call) and asks for details and images only for listings the store does not
//! know yet, 100 at a time through `listings/batch?includes=Images`. A known listing, renewed or
//! not, costs nothing beyond its page and never pins again. (The flip side: edits to a listing
//! already recorded are not followed.)

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use super::budget::{Budget, EtsyBudgets};
use super::error::ShopError;
use super::settings::{EtsySettings, check_base};
use super::{JSON_ACCEPT, fetch_options};
use crate::item::{DedupKey, Item, SourceId};
use crate::sources::feed::{FeedError, Fetcher};
use crate::store::Store;

/// Listings per page and ids per batch call: Etsy's maximum for both.
pub const PAGE: usize = 100;
/// Retry a 429 inside the poll when Etsy asks for at most this long; longer waits end the poll.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(60);
/// 429s in a row for one request before the poll gives up.
const MAX_429_RETRIES: u32 = 3;

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default)]
    count: Option<u64>,
    results: Vec<T>,
}

#[derive(Deserialize)]
struct ListingRef {
    listing_id: u64,
}

#[derive(Deserialize)]
struct ShopRef {
    shop_id: u64,
    #[serde(default)]
    shop_name: Option<String>,
}

#[derive(Deserialize)]
struct Listing {
    listing_id: u64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    price: Option<Money>,
    #[serde(default)]
    original_creation_timestamp: Option<i64>,
    #[serde(default)]
    created_timestamp: Option<i64>,
    #[serde(default)]
    images: Vec<Image>,
}

#[derive(Deserialize)]
struct Money {
    amount: i64,
    divisor: i64,
    currency_code: String,
}

#[derive(Deserialize)]
struct Image {
    #[serde(default)]
    url_fullxfull: Option<String>,
    #[serde(default)]
    rank: Option<i64>,
    #[serde(default)]
    alt_text: Option<String>,
}

/// One configured Etsy source.
pub struct EtsySource {
    id: SourceId,
    settings: EtsySettings,
    base: Url,
    fetcher: Fetcher,
    budget: Arc<Budget>,
    headers: HeaderMap,
    shop_id: OnceCell<u64>,
}

impl EtsySource {
    /// A source for validated settings, sharing its key's budget from `budgets`.
    pub fn new(
        id: SourceId,
        settings: EtsySettings,
        fetcher: Fetcher,
        budgets: &EtsyBudgets,
    ) -> Result<Self, String> {
        let base = check_base(&settings.api_base)?;
        let key = settings
            .api_key_header()
            .ok_or("an Etsy source needs `api_key`")?;
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", secret_header(&key, "api_key")?);
        if let Some(token) = &settings.access_token {
            let bearer = SecretString::from(format!("Bearer {}", token.expose_secret().trim()));
            headers.insert(AUTHORIZATION, secret_header(&bearer, "access_token")?);
        }
        let budget = budgets.for_key(
            key.expose_secret(),
            settings.requests_per_second,
            settings.requests_per_day,
        );
        Ok(Self {
            id,
            shop_id: OnceCell::new_with(settings.shop_id),
            settings,
            base,
            fetcher,
            budget,
            headers,
        })
    }

    pub fn id(&self) -> &SourceId {
        &self.id
    }

    pub fn settings(&self) -> &EtsySettings {
        &self.settings
    }

    /// The shared budget of this source's API key.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The listings the store does not know yet, oldest first, and how many were listed in all.
    pub async fn fetch_new(&self, store: &dyn Store) -> Result<(Vec<Item>, usize), ShopError> {
        let ids = self.list_ids().await?;
        let total = ids.len();
        let mut unknown = Vec::new();
        for id in ids {
            let key = listing_key(id);
            if store.item(&self.id, &key).await?.is_none() {
                unknown.push(id);
            }
        }
        let mut listings = Vec::with_capacity(unknown.len());
        for chunk in unknown.chunks(PAGE) {
            listings.extend(self.batch(chunk).await?);
        }
        // Favorites may include sold or expired listings; a Pin should lead to something buyable.
        listings.retain(|l| l.state.as_deref().is_none_or(|s| s == "active"));
        listings.sort_by_key(|l| (created_ms(l).unwrap_or(i64::MAX), l.listing_id));
        Ok((
            listings.into_iter().map(|l| to_item(&self.id, l)).collect(),
            total,
        ))
    }

    /// Every listing id of the shop (or the user's favorites), up to `max_listings`.
    async fn list_ids(&self) -> Result<Vec<u64>, ShopError> {
        let path: Vec<String> = match &self.settings.favorites_of {
            Some(user) => ["users", user.trim(), "favorites", "listings"]
                .map(str::to_string)
                .to_vec(),
            None => {
                let shop = self.shop_id().await?.to_string();
                vec!["shops".into(), shop, "listings".into(), "active".into()]
            }
        };
        let mut ids = Vec::new();
        let mut offset = 0;
        while ids.len() < self.settings.max_listings {
            let url = self.url(
                &path,
                &[("limit", PAGE.to_string()), ("offset", offset.to_string())],
            );
            let page: Page<ListingRef> = self.get_json(url, "the listings page").await?;
            let got = page.results.len();
            ids.extend(page.results.into_iter().map(|l| l.listing_id));
            offset += got;
            if got < PAGE || page.count.is_some_and(|c| offset as u64 >= c) {
                break;
            }
        }
        ids.truncate(self.settings.max_listings);
        // A listing that moved between two pages shows up twice.
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok(ids)
    }

    async fn shop_id(&self) -> Result<u64, ShopError> {
        self.shop_id
            .get_or_try_init(|| async {
                let name = self.settings.shop_name.as_deref().unwrap_or("").trim();
                let url = self.url(&["shops"], &[("shop_name", name.to_string())]);
                let page: Page<ShopRef> = self.get_json(url, "finding the shop").await?;
                page.results
                    .into_iter()
                    .find(|s| {
                        s.shop_name
                            .as_deref()
                            .is_none_or(|n| n.eq_ignore_ascii_case(name))
                    })
                    .map(|s| s.shop_id)
                    .ok_or_else(|| ShopError::NoSuchShop(name.to_string()))
            })
            .await
            .copied()
    }

    /// Details and images of up to 100 listings in one call.
    async fn batch(&self, ids: &[u64]) -> Result<Vec<Listing>, ShopError> {
        let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let url = self.url(
            &["listings", "batch"],
            &[("listing_ids", list), ("includes", "Images".into())],
        );
        let page: Page<serde_json::Value> = self.get_json(url, "the listing details").await?;
        // One odd listing does not cost the others their Pins.
        Ok(page
            .results
            .into_iter()
            .filter_map(|v| match serde_json::from_value::<Listing>(v) {
                Ok(listing) => Some(listing),
                Err(err) => {
                    tracing::warn!(source = %self.id, error = %err, "skipping an Etsy listing pinbridge cannot read");
                    None
                }
            })
            .collect())
    }

    fn url<S: AsRef<str>>(&self, path: &[S], query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["v3", "application"]);
            segments.extend(path.iter().map(AsRef::as_ref));
        }
        url.query_pairs_mut().clear().extend_pairs(query);
        url
    }

    /// GET within the budget, waiting out short 429s.
    async fn get_json<T: DeserializeOwned>(&self, url: Url, what: &str) -> Result<T, ShopError> {
        let opts = fetch_options(&self.settings.polling(), JSON_ACCEPT);
        let mut throttled = 0;
        loop {
            self.budget.acquire().await?;
            match self
                .fetcher
                .get_with_headers(&url, &opts, &self.headers)
                .await
            {
                Ok(response) => {
                    self.budget.observe(&response.headers);
                    return serde_json::from_slice(&response.body).map_err(|e| ShopError::Json {
                        what: format!("Etsy's answer for {what}"),
                        message: e.to_string(),
                    });
                }
                Err(FeedError::Http {
                    status: 429,
                    retry_after,
                }) => {
                    throttled += 1;
                    let wait = retry_after.unwrap_or(Duration::from_secs(1));
                    self.budget.block_for(wait);
                    if wait > MAX_INLINE_WAIT || throttled > MAX_429_RETRIES {
                        return Err(ShopError::RateLimited {
                            what: what.to_string(),
                            retry_in: wait,
                        });
                    }
                    tracing::info!(source = %self.id, wait = ?wait, "Etsy answered 429; waiting as asked");
                }
                Err(FeedError::Http {
                    status: status @ (401 | 403),
                    ..
                }) => {
                    return Err(ShopError::Auth {
                        status,
                        what: what.to_string(),
                    });
                }
                Err(source) => {
                    return Err(ShopError::Fetch {
                        what: format!("Etsy, {what}"),
                        source,
                    });
                }
            }
        }
    }
}

fn secret_header(value: &SecretString, key: &str) -> Result<HeaderValue, String> {
    let mut header = HeaderValue::from_str(value.expose_secret())
        .map_err(|_| format!("`{key}` contains characters a header cannot carry"))?;
    header.set_sensitive(true);
    Ok(header)
}

/// The dedup key of a listing: its id survives renewals, which give it new timestamps.
pub fn listing_key(id: u64) -> DedupKey {
    DedupKey::new("listing", &id.to_string())
}

fn created_ms(l: &Listing) -> Option<i64> {
    l.original_creation_timestamp
        .or(l.created_timestamp)
        .map(|s| s.saturating_mul(1000))
}

fn to_item(source: &SourceId, l: Listing) -> Item {
    let mut item = Item::new(source.clone(), listing_key(l.listing_id));
    item.published_ms = created_ms(&l);
    item.title = l.title.unwrap_or_default();
    item.description = l.description.unwrap_or_default();
    item.link = l.url.filter(|u| !u.trim().is_empty());
    // Rank 1 is the listing's main photo; without ranks, the first.
    let image = l
        .images
        .into_iter()
        .filter(|i| i.url_fullxfull.is_some())
        .min_by_key(|i| i.rank.unwrap_or(i64::MAX));
    if let Some(image) = image {
        item.image_url = image.url_fullxfull;
        item.image_alt = image.alt_text.filter(|a| !a.trim().is_empty());
    }
    if let Some(price) = l.price {
        item.fields
            .insert("price".into(), format_price(price.amount, price.divisor));
        item.fields.insert("currency".into(), price.currency_code);
    }
    item.fields
        .insert("listing_id".into(), l.listing_id.to_string());
    item.categories = l.tags;
    item
}

/// `amount / divisor` as a decimal: 1250 / 100 → "12.50". Exact for power-of-ten divisors.
pub fn format_price(amount: i64, divisor: i64) -> String {
    if divisor <= 1 {
        return amount.to_string();
    }
    let digits = divisor.checked_ilog10().unwrap_or(0);
    if 10i64.checked_pow(digits) == Some(divisor) {
        let sign = if amount < 0 { "-" } else { "" };
        let abs = amount.unsigned_abs();
        let d = divisor.unsigned_abs();
        return format!(
            "{sign}{}.{:0width$}",
            abs / d,
            abs % d,
            width = digits as usize
        );
    }
    format!("{:.2}", amount as f64 / divisor as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_decimals() {
        assert_eq!(format_price(1250, 100), "12.50");
        assert_eq!(format_price(5, 100), "0.05");
        assert_eq!(format_price(-1999, 100), "-19.99");
        assert_eq!(format_price(7, 1), "7");
        assert_eq!(format_price(10, 3), "3.33");
    }

    #[test]
    fn the_rank_one_image_and_tags_make_the_item() {
        let listing: Listing = serde_json::from_value(serde_json::json!({
            "listing_id": 77, "title": "Mug", "url": "https://www.etsy.com/listing/77/mug",
            "tags": ["mug", "ceramic"], "price": {"amount": 2400, "divisor": 100, "currency_code": "EUR"},
            "created_timestamp": 1700000000,
            "images": [
                {"url_fullxfull": "https://i.etsystatic.com/2.jpg", "rank": 2},
                {"url_fullxfull": "https://i.etsystatic.com/1.jpg", "rank": 1, "alt_text": "A blue mug"}
            ]
        }))
        .unwrap();
        let item = to_item(&SourceId::new("etsy"), listing);
        assert_eq!(item.key.as_str(), "listing:77");
        assert_eq!(
            item.image_url.as_deref(),
            Some("https://i.etsystatic.com/1.jpg")
        );
        assert_eq!(item.image_alt.as_deref(), Some("A blue mug"));
        assert_eq!(item.fields["price"], "24.00");
        assert_eq!(item.fields["currency"], "EUR");
        assert_eq!(item.categories, ["mug", "ceramic"]);
        assert_eq!(item.published_ms, Some(1_700_000_000_000));
    }
}
