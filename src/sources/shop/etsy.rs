//! Etsy Open API v3: a shop's active listings (or a configured list of listing ids) → `Item`s
//! keyed by `listing:<id>`.
//!
//! Calls are the scarce resource (10,000 a day per key), so a poll reads the cheap id pages
//! (100 listings a call) and asks for details and images only for listings the store does not
//! know yet, 100 at a time through `listings/batch?includes=Images`. A known listing, renewed or
//! not, costs nothing beyond its page and never pins again. (The flip side: edits to a listing
//! already recorded are not followed.) With `listing_ids` there is no page to read: each id the
//! store does not know yet is read on its own (`listings/{id}`), so one gone listing (404/410)
//! is reported and skipped instead of failing the others.
//!
//! A user's favorites cannot be read: Etsy retired that endpoint, and a source that still asks
//! for them is refused when it is set up (see `FAVORITES_RETIRED`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use url::Url;

use super::Fetched;
use super::JSON_ACCEPT;
use super::budget::{Budget, EtsyBudgets};
use super::error::ShopError;
use super::etsy_listing::{Listing, ListingRef, Page, ShopRef, created_ms, to_item};
pub use super::etsy_listing::{format_price, listing_key};
use super::settings::{EtsySettings, FAVORITES_RETIRED, check_base};
use crate::ingest::context::KnownItems;
use crate::item::{DedupKey, SourceId};
use crate::sources::poll::{FeedError, Fetcher};

/// Listings per page and ids per batch call: Etsy's maximum for both.
pub const PAGE: usize = 100;
/// Retry a 429 inside the poll when Etsy asks for at most this long; longer waits end the poll.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(60);
/// 429s in a row for one request before the poll gives up.
const MAX_429_RETRIES: u32 = 3;

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
        // Never poll a retired endpoint: every call would fail and use up the key's budget.
        if settings.favorites_of.is_some() {
            return Err(FAVORITES_RETIRED.to_string());
        }
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

    /// The listings the store does not know yet (oldest first), how many were listed in all,
    /// the listings seen in a state other than `active` (or answered 404/410 by id), and, when
    /// the shop's active listings were read to their end, the keys of all of them.
    pub async fn fetch_new<K: KnownItems + ?Sized>(&self, known: &K) -> Result<Fetched, ShopError> {
        let (ids, complete) = self.list_ids().await?;
        let total = ids.len();
        let listing = complete.then(|| ids.iter().map(|id| listing_key(*id)).collect());
        let mut unknown = Vec::new();
        for id in ids {
            let key = listing_key(id);
            if known.known_item(&self.id, &key).await?.is_none() {
                unknown.push(id);
            }
        }
        let mut listings = Vec::with_capacity(unknown.len());
        let mut gone = Vec::new();
        if self.settings.listing_ids.is_some() {
            let (found, missing) = self.each_by_id(&unknown).await?;
            listings = found;
            gone.extend(missing.into_iter().map(listing_key));
        } else {
            for chunk in unknown.chunks(PAGE) {
                listings.extend(self.batch(chunk).await?);
            }
        }
        // Named listings may be sold or expired; a Pin should lead to something buyable, and
        // one that is no longer active was removed at the shop.
        let (mut listings, inactive): (Vec<Listing>, Vec<Listing>) = listings
            .into_iter()
            .partition(|l| l.state.as_deref().is_none_or(|s| s == "active"));
        gone.extend(inactive.iter().map(|l| listing_key(l.listing_id)));
        listings.sort_by_key(|l| (created_ms(l).unwrap_or(i64::MAX), l.listing_id));
        Ok(Fetched {
            items: listings.into_iter().map(|l| to_item(&self.id, l)).collect(),
            listed: total,
            gone,
            listing,
        })
    }

    /// Of `keys` (listings missing from the active list past the grace), the ones Etsy confirms
    /// are no longer active: seen in another state, or no longer returned at all. A listing
    /// the batch answers as active was only missed by the paging, and is kept.
    pub async fn confirm_gone(&self, keys: Vec<DedupKey>) -> Result<Vec<DedupKey>, ShopError> {
        let ids: Vec<u64> = keys
            .iter()
            .filter_map(|k| k.as_str().strip_prefix("listing:")?.parse().ok())
            .collect();
        let mut active = std::collections::HashSet::new();
        for chunk in ids.chunks(PAGE) {
            for listing in self.batch(chunk).await? {
                if listing.state.as_deref().is_none_or(|s| s == "active") {
                    active.insert(listing_key(listing.listing_id));
                }
            }
        }
        Ok(keys.into_iter().filter(|k| !active.contains(k)).collect())
    }

    /// Every listing id of the shop (or the configured ids), up to `max_listings`.
    /// Also whether the shop's list was read to its end (never for configured ids: a fixed
    /// list says nothing about what the shop still has).
    async fn list_ids(&self) -> Result<(Vec<u64>, bool), ShopError> {
        if let Some(named) = &self.settings.listing_ids {
            let mut ids = named.clone();
            ids.truncate(self.settings.max_listings);
            let mut seen = std::collections::HashSet::new();
            ids.retain(|id| seen.insert(*id));
            return Ok((ids, false));
        }
        let shop = self.shop_id().await?.to_string();
        let path = ["shops", &shop, "listings", "active"];
        let mut ids = Vec::new();
        let mut offset = 0;
        // Read to the end (a short page, or `count` reached), not stopped by `max_listings`.
        let mut complete = false;
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
                complete = ids.len() <= self.settings.max_listings;
                break;
            }
        }
        ids.truncate(self.settings.max_listings);
        // A listing that moved between two pages shows up twice.
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(*id));
        Ok((ids, complete))
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

    /// Details and images of each listing, one call per id. A listing Etsy no longer has
    /// (404/410) is logged and skipped; any other failure ends the poll as usual.
    /// Also the ids Etsy answered 404 or 410 for.
    async fn each_by_id(&self, ids: &[u64]) -> Result<(Vec<Listing>, Vec<u64>), ShopError> {
        let mut listings = Vec::with_capacity(ids.len());
        let mut missing = Vec::new();
        for &id in ids {
            let url = self.url(
                &["listings", &id.to_string()],
                &[("includes", "Images".into())],
            );
            match self.get_json::<Listing>(url, "a listing by id").await {
                Ok(listing) => listings.push(listing),
                Err(ShopError::Fetch {
                    source:
                        FeedError::Http {
                            status: status @ (404 | 410),
                            ..
                        },
                    ..
                }) => {
                    tracing::warn!(source = %self.id, listing_id = id, status, "Etsy has no listing with this id; skipping it.");
                    missing.push(id);
                }
                Err(err) => return Err(err),
            }
        }
        Ok((listings, missing))
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
                    tracing::warn!(source = %self.id, error = %err, "Skipping an Etsy listing pinbridge cannot read.");
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
        let opts = self.settings.polling().fetch_options(JSON_ACCEPT);
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
                    tracing::info!(source = %self.id, wait = ?wait, "Etsy answered 429; waiting as asked.");
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
