//! Why a shop poll failed, in words a user can act on. The message is what `last_error` records.

use std::time::Duration;

use crate::sources::poll::FeedError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    /// The request itself failed (network, HTTP status, SSRF guard, body cap).
    #[error("{what}: {source}")]
    Fetch {
        what: String,
        #[source]
        source: FeedError,
    },
    #[error(
        "Etsy refused the credentials (HTTP {status}) for {what}: check `api_key` and `shared_secret`"
    )]
    Auth { status: u16, what: String },
    #[error("{what}: the answer is not the JSON pinbridge expects ({message})")]
    Json { what: String, message: String },
    #[error("no Etsy shop is named `{0}`")]
    NoSuchShop(String),
    #[error("the Etsy request budget is used up ({detail}); next try in {}", humantime::format_duration(*.retry_in))]
    Budget { detail: String, retry_in: Duration },
    #[error("Etsy asked to slow down (HTTP 429) for {what}; next try in {}", humantime::format_duration(*.retry_in))]
    RateLimited { what: String, retry_in: Duration },
    #[error("could not read the collection feed: {0}")]
    Feed(FeedError),
    #[error("could not record the items: {0}")]
    Store(#[from] StoreError),
}

impl ShopError {
    /// When to come back, if the server or the budget said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ShopError::Fetch { source, .. } | ShopError::Feed(source) => source.retry_after(),
            ShopError::Budget { retry_in, .. } | ShopError::RateLimited { retry_in, .. } => {
                Some(*retry_in)
            }
            _ => None,
        }
    }
}
