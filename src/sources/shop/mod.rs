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
pub mod settings;
pub mod shopify;

pub use budget::{Budget, EtsyBudgets};
pub use error::ShopError;
pub use etsy::EtsySource;
pub use poller::{poll_cycle, run};
pub use settings::{EtsySettings, Polling, ShopifySettings};
pub use shopify::ShopifySource;

use crate::ingest::context::KnownItems;
use crate::item::{Item, SourceId};

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
            ShopSource::Etsy(s) => {
                let (items, listed) = s.fetch_new(known).await?;
                Ok(Fetched { items, listed })
            }
            ShopSource::Shopify(s) => {
                let items = s.fetch().await?;
                Ok(Fetched {
                    listed: items.len(),
                    items,
                })
            }
        }
    }
}
