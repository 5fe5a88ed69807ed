//! Inbound webhooks: `POST /hooks/{source_id}` for shops and CMSs that push.
//!
//! Each `kind = "webhook"` source has a preset (Shopify, WooCommerce, Ghost, WordPress, Standard
//! Webhooks, Svix, GitHub, Stripe or generic) that picks a signature verifier (`verify/`) and a
//! payload mapper (`presets/`, `mapping.rs`). A delivery is verified on its raw bytes, mapped to
//! an `Item` and handed to `Ingest`; the answer is 2xx only once the store made it durable.

pub mod error;
pub mod fetch;
pub mod handler;
pub mod json;
pub mod mapped;
pub mod mapping;
pub mod presets;
pub mod receive;
pub mod scheme;
pub mod settings;
pub mod verify;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::clock::SharedClock;
use crate::ingest::Ingest;
use crate::item::SourceId;
use crate::settings::ConfigProblem;

pub use error::{Answer, Rejection};
pub use fetch::{FetchError, HttpFetcher, MediaFetcher};
pub use handler::router;
pub use receive::Hook;
pub use settings::{Preset, Scheme, WebhookSettings};

/// The configured webhook sources, the ingest handle and the clock the receiver uses.
pub struct WebhookSources {
    hooks: RwLock<Arc<HashMap<String, Arc<Hook>>>>,
    ingest: Ingest,
    clock: SharedClock,
    fetcher: Arc<dyn MediaFetcher>,
}

impl WebhookSources {
    /// Validate and build every source; all problems are returned together.
    pub fn new(
        sources: Vec<(SourceId, WebhookSettings)>,
        ingest: Ingest,
        clock: SharedClock,
    ) -> Result<Self, Vec<ConfigProblem>> {
        let hooks = build(sources)?;
        let fetcher = HttpFetcher::standard()
            .map_err(|e| vec![ConfigProblem::new("sources", e.to_string())])?;
        Ok(Self {
            hooks: RwLock::new(Arc::new(hooks)),
            ingest,
            clock,
            fetcher: Arc::new(fetcher),
        })
    }

    /// Use another fetcher for payload lookups (the SSRF-guarded one, or a test double).
    pub fn with_fetcher(mut self, fetcher: Arc<dyn MediaFetcher>) -> Self {
        self.fetcher = fetcher;
        self
    }

    /// Swap the whole set of sources (config reload). Requests in flight finish with the old
    /// set; on error the old set stays.
    pub fn replace(
        &self,
        sources: Vec<(SourceId, WebhookSettings)>,
    ) -> Result<(), Vec<ConfigProblem>> {
        let hooks = Arc::new(build(sources)?);
        *self.hooks.write().unwrap_or_else(|e| e.into_inner()) = hooks;
        Ok(())
    }

    /// The ids currently served, sorted.
    pub fn ids(&self) -> Vec<SourceId> {
        let hooks = self.hooks.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut ids: Vec<SourceId> = hooks.values().map(|h| h.id.clone()).collect();
        ids.sort();
        ids
    }

    pub fn get(&self, id: &str) -> Option<Arc<Hook>> {
        self.hooks
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    pub fn fetcher(&self) -> &dyn MediaFetcher {
        self.fetcher.as_ref()
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

fn build(
    sources: Vec<(SourceId, WebhookSettings)>,
) -> Result<HashMap<String, Arc<Hook>>, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut hooks = HashMap::new();
    for (id, settings) in sources {
        let path = format!("sources.{id}");
        if hooks.contains_key(id.as_str()) {
            problems.push(ConfigProblem::new(
                path,
                "the same webhook source id is used twice",
            ));
            continue;
        }
        match Hook::new(id.clone(), settings, &path) {
            Ok(hook) => {
                hooks.insert(id.0.clone(), Arc::new(hook));
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(hooks)
    } else {
        Err(problems)
    }
}
