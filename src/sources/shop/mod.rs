//! Shop sources: an Etsy shop's active listings (Open API v3) and a Shopify storefront's
//! products (`products.json` or a collection's Atom feed), polled like feeds and keyed by the
//! shop's own ids (`listing:<id>`, `product:<id>`) so renewals and re-sends never pin twice.
//!
//! Everything is fetched through the polling base's guarded `Fetcher` (SSRF guard, timeouts, body
//! cap). Etsy calls also go through one shared [`budget::Budget`] per API key.

pub mod budget;
pub mod error;
pub mod etsy;
mod etsy_listing;
pub mod poller;
mod removals;
pub mod settings;
pub mod shopify;

pub use budget::{Budget, EtsyBudgets};
pub use error::ShopError;
pub use etsy::EtsySource;
pub use poller::{poll_cycle, run};
pub use settings::{EtsySettings, Polling, ShopifySettings};
pub use shopify::ShopifySource;

use crate::ingest::context::KnownItems;
use std::collections::BTreeSet;

use crate::item::{DedupKey, Item, SourceId};

/// What the shop APIs are asked for.
pub(crate) const JSON_ACCEPT: &str = "application/json";

/// One configured shop source of either kind.
pub enum ShopSource {
    // Boxed: the sources are large and of very different sizes.
    Etsy(Box<EtsySource>),
    Shopify(Box<ShopifySource>),
}

/// What one fetch found.
pub struct Fetched {
    /// Items to submit, oldest first.
    pub items: Vec<Item>,
    /// How many the shop listed in all (Etsy submits only the ones the store does not know).
    pub listed: usize,
    /// Items the shop itself says are gone (an Etsy listing in a state other than `active`).
    pub gone: Vec<DedupKey>,
    /// Every item the shop lists, when this read was a complete pass (not stopped by a cap);
    /// `None` when the read cannot tell what is missing.
    pub listing: Option<BTreeSet<DedupKey>>,
}

impl ShopSource {
    pub fn id(&self) -> &SourceId {
        match self {
            ShopSource::Etsy(s) => s.id(),
            ShopSource::Shopify(s) => s.id(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ShopSource::Etsy(_) => "etsy",
            ShopSource::Shopify(_) => "shopify",
        }
    }

    pub fn polling(&self) -> Polling {
        match self {
            ShopSource::Etsy(s) => s.settings().polling(),
            ShopSource::Shopify(s) => s.settings().polling(),
        }
    }

    /// Read the shop once. No writes; `known` is only asked which items are recorded.
    pub async fn fetch<K: KnownItems + ?Sized>(&self, known: &K) -> Result<Fetched, ShopError> {
        match self {
            ShopSource::Etsy(s) => s.fetch_new(known).await,
            ShopSource::Shopify(s) => s.fetch_listing().await,
        }
    }

    /// Of `keys` (missing from complete passes past the grace), the ones to report removed.
    pub async fn confirm_gone<K: KnownItems + ?Sized>(
        &self,
        known: &K,
        keys: Vec<DedupKey>,
    ) -> Result<Vec<DedupKey>, ShopError> {
        match self {
            ShopSource::Etsy(s) => s.confirm_gone(keys).await,
            ShopSource::Shopify(s) => s.confirm_gone(known, keys).await,
        }
    }

    /// How long an item must stay absent from complete passes before it counts as removed.
    pub fn removal_grace(&self) -> std::time::Duration {
        match self {
            ShopSource::Etsy(s) => s.settings().removal_grace,
            ShopSource::Shopify(s) => s.settings().removal_grace,
        }
    }
}
