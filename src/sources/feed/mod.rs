//! RSS / Atom / JSON Feed sources: poll a feed politely, turn its entries into `Item`s with
//! stable dedup keys, and hand them to `ingest`.
//!
//! `FeedSource` is one configured feed (fetch + parse, no store access); `poller::run` is its
//! task (schedule, backfill, state) on the polling base's loop (`crate::sources::poll`);
//! `poller::poll_now` is the dry run behind `pinbridge poll`.

pub mod cap;
pub mod charset;
pub mod content_base;
pub mod depth;
mod dry_run;
mod explain;
pub mod extras;
pub mod images;
mod img_tags;
pub mod page;
pub mod parse;
pub mod poller;
mod removals;
mod repair;
pub mod settings;
mod submit;

// The polling base these grew out of, under their old paths.
pub use crate::sources::poll::{cache, error, fetch, schedule, ssrf};

use url::Url;

pub use error::FeedError;
pub use fetch::Fetcher;
pub use poller::{
    DryRun, DryRunItem, PollReport, poll_cycle, poll_cycle_with_progress, poll_now, run,
};
pub use settings::{Backfill, FeedSettings};

use crate::item::{Item, SourceId};
use crate::store::SourceState;
use fetch::FetchOptions;
use images::MinSize;
use schedule::{Hints, Schedule};

/// The result of one successful poll.
#[derive(Clone, Debug, Default)]
pub struct Poll {
    /// The feed's items, oldest first. Empty when `not_modified`.
    pub items: Vec<Item>,
    /// The server answered 304: nothing changed since the validators we sent.
    pub not_modified: bool,
    /// Validators to send next time (the previous ones when the server sent none).
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Freshness hints for the scheduler.
    pub hints: Hints,
}

/// One configured feed: what to fetch and how. Holds no state; `SourceState` lives in the store.
#[derive(Clone)]
pub struct FeedSource {
    id: SourceId,
    url: Url,
    settings: FeedSettings,
    fetcher: Fetcher,
}

impl FeedSource {
    /// A source for validated settings. Fails only on a URL `validate` would also reject.
    pub fn new(id: SourceId, settings: FeedSettings, fetcher: Fetcher) -> Result<Self, FeedError> {
        let url = settings::check_url(&settings.url).map_err(FeedError::BadUrl)?;
        Ok(Self {
            id,
            url,
            settings,
            fetcher,
        })
    }

    pub fn id(&self) -> &SourceId {
        &self.id
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL for messages and logs, credentials and query values hidden.
    pub fn display_url(&self) -> String {
        error::redact(&self.url)
    }

    pub fn settings(&self) -> &FeedSettings {
        &self.settings
    }

    /// The shared fetcher (its limits also bound how many polls run at once).
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// What this source's requests say they are: its own `user_agent`, else the fetcher's.
    pub fn user_agent(&self) -> &str {
        self.settings
            .user_agent
            .as_deref()
            .unwrap_or(self.fetcher.user_agent())
    }

    pub(crate) fn schedule(&self) -> Schedule {
        self.settings.polling().schedule()
    }

    fn fetch_options(&self, state: &SourceState) -> FetchOptions {
        FetchOptions {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
            ..self.settings.polling().fetch_options(fetch::FEED_ACCEPT)
        }
    }

    /// Fetch (conditionally, with `state`'s validators) and parse the feed once. No writes.
    pub async fn poll_once(&self, state: &SourceState) -> Result<Poll, FeedError> {
        let response = self
            .fetcher
            .get(&self.url, &self.fetch_options(state))
            .await?;
        let mut hints = Hints {
            ttl: None,
            max_age: response.cache.max_age,
            expires_in: response.cache.expires_in,
            retry_after: response.cache.retry_after,
        };
        // A 304 may carry no validators; keep sending the ones that got it.
        let etag = response.etag.clone().or_else(|| state.etag.clone());
        let last_modified = response
            .last_modified
            .clone()
            .or_else(|| state.last_modified.clone());
        if response.not_modified {
            return Ok(Poll {
                items: Vec::new(),
                not_modified: true,
                etag,
                last_modified,
                hints,
            });
        }
        let source = self.id.clone();
        let min_image = MinSize {
            width: self.settings.min_image_width,
            height: self.settings.min_image_height,
        };
        let base = response.url.clone();
        let body = response.body;
        let content_type = response.content_type;
        // feed-rs 2.4's parser is not Send and parsing a large feed takes milliseconds: run it
        // off the async threads.
        let parsed = tokio::task::spawn_blocking(move || {
            parse::parse_feed(&source, &body, content_type.as_deref(), &base, min_image)
        })
        .await
        .map_err(|e| FeedError::parse(format!("the parser stopped unexpectedly: {e}")))??;
        hints.ttl = parsed.ttl;
        let mut items = parsed.items;
        for item in &mut items {
            add_categories(item, &self.settings.categories);
        }
        Ok(Poll {
            items,
            not_modified: false,
            etag,
            last_modified,
            hints,
        })
    }
}

/// Add the source's own categories to an item's, skipping ones it has (case-insensitively).
fn add_categories(item: &mut crate::item::Item, extra: &[String]) {
    for category in extra {
        if !item
            .categories
            .iter()
            .any(|have| have.eq_ignore_ascii_case(category))
        {
            item.categories.push(category.clone());
        }
    }
}
