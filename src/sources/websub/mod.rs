//! WebSub push for feed sources (W3C WebSub).
//!
//! When `server.public_url` is set, a feed that advertises a hub is subscribed to
//! (`subscribe.rs`); the hub's verification of intent and its signed pushes arrive at
//! `GET/POST /websub/{source_id}/{token}` (`callback.rs`; the token is random per subscription,
//! so only the hub knows the URL) and pushed entries go through the same parser and `Ingest` as
//! polled ones, so they dedup into one item. While subscribed the feed is still polled, slowly
//! (`task.rs`). The subscription lives in the store (`state.rs`), its secret sealed when token
//! keys are configured.

pub mod callback;
pub mod discover;
pub mod signature;
pub mod state;
pub mod subscribe;
pub mod task;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use secrecy::{ExposeSecret, SecretString};

use crate::ingest::Ingest;
use crate::ingest::context::SourceContext;
use crate::item::SourceId;
use crate::pinterest::vault::{Vault, is_sealed_text};
use crate::sources::feed::FeedSource;
use crate::sources::poll::FeedError;
use crate::store::{Millis, StoreError};

pub use callback::router;
pub use state::{Status, Subscription};
pub use subscribe::Maintained;
pub use task::run;

/// Timing of subscriptions. The defaults follow the spec's advice (about 10 days of lease) and
/// FreshRSS (poll at most once a day while push is active).
#[derive(Clone, Debug)]
pub struct WebSubSettings {
    /// `hub.lease_seconds` asked for.
    pub lease: Duration,
    /// Renew this long before the lease ends (at most half the lease).
    pub renew_before: Duration,
    /// Polling interval while a subscription is active (fallback for missed pushes).
    pub fallback_interval: Duration,
    /// A subscription not verified within this is asked for again.
    pub pending_timeout: Duration,
    /// After a failed or denied request, or when no hub was found, look again after this.
    pub retry_after: Duration,
    /// Pushed bodies larger than this are refused (413).
    pub max_body_bytes: usize,
}

impl Default for WebSubSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10 * 24 * 3600),
            renew_before: Duration::from_secs(24 * 3600),
            fallback_interval: Duration::from_secs(24 * 3600),
            pending_timeout: Duration::from_secs(3600),
            retry_after: Duration::from_secs(24 * 3600),
            max_body_bytes: 15 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebSubError {
    #[error("no feed source `{0}` takes WebSub pushes")]
    UnknownSource(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("hub discovery failed: {0}")]
    Discovery(#[source] FeedError),
    #[error("the hub {hub} refused the request with HTTP {status}")]
    HubStatus { hub: String, status: u16 },
    #[error("the hub {hub} could not be reached: {reason}")]
    HubUnreachable { hub: String, reason: String },
    #[error("the hub {0} is not https: the subscription secret would travel in clear text")]
    InsecureHub(String),
    #[error("public_url cannot form a callback URL: {0}")]
    Callback(String),
}

/// One feed that may be subscribed: its source and a lock that serialises changes to its
/// subscription record (the callback and the renewal task both write it).
pub(crate) struct Entry {
    pub source: FeedSource,
    pub lock: tokio::sync::Mutex<()>,
}

/// The WebSub subscriber for every feed source. Shared by the callback router and the tasks.
pub struct WebSub {
    public_url: Url,
    entries: HashMap<String, Arc<Entry>>,
    /// What the subscriber and the pushes may do with the store: subscription records, the
    /// feed's schedule, known items, submissions.
    ctx: SourceContext,
    settings: WebSubSettings,
    clients: subscribe::Clients,
    /// Seals subscription secrets in the store; without keys they are kept as they are.
    vault: Option<Arc<Vault>>,
}

impl WebSub {
    pub fn new(
        public_url: Url,
        feeds: &[FeedSource],
        ingest: Ingest,
        settings: WebSubSettings,
    ) -> Self {
        let entries = feeds
            .iter()
            .map(|f| {
                (
                    f.id().as_str().to_string(),
                    Arc::new(Entry {
                        source: f.clone(),
                        lock: tokio::sync::Mutex::new(()),
                    }),
                )
            })
            .collect();
        Self {
            public_url,
            entries,
            ctx: ingest.context(),
            settings,
            clients: subscribe::Clients::default(),
            vault: None,
        }
    }

    /// Seal subscription secrets in the store with `vault`.
    pub fn with_vault(mut self, vault: Option<Arc<Vault>>) -> Self {
        self.vault = vault;
        self
    }

    pub fn settings(&self) -> &WebSubSettings {
        &self.settings
    }

    pub(crate) fn entry(&self, id: &str) -> Result<Arc<Entry>, WebSubError> {
        self.entries
            .get(id)
            .cloned()
            .ok_or_else(|| WebSubError::UnknownSource(id.to_string()))
    }

    /// `<public_url>/websub/<id>/<token>`, whether or not public_url ends with a slash; without
    /// a token, the URL subscriptions made before tokens used (to unsubscribe those).
    pub fn callback_url(&self, id: &SourceId, token: Option<&str>) -> Result<Url, WebSubError> {
        let mut base = self.public_url.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let path = match token {
            Some(token) => format!("websub/{}/{}", urlencode(id.as_str()), urlencode(token)),
            None => format!("websub/{}", urlencode(id.as_str())),
        };
        base.join(&path)
            .map_err(|e| WebSubError::Callback(e.to_string()))
    }

    /// The subscription as stored, its secret opened. A sealed secret that cannot be opened
    /// (keys changed) reads as none: pushes are then refused and the next renewal makes a new
    /// one.
    pub async fn subscription(&self, id: &SourceId) -> Result<Subscription, WebSubError> {
        let state = self.ctx.state(&state::record_id(id)).await?;
        let mut sub = Subscription::from_state(&state);
        if let Some(stored) = &sub.secret
            && is_sealed_text(stored.expose_secret())
        {
            let opened = match &self.vault {
                Some(vault) => vault
                    .open_text(&secret_context(id), stored.expose_secret())
                    .map_err(|e| e.to_string()),
                None => Err("no token keys are configured".to_string()),
            };
            sub.secret = match opened {
                Ok(secret) => Some(secret),
                Err(problem) => {
                    tracing::warn!(source = %id, %problem, "WebSub: the stored subscription secret cannot be opened.");
                    None
                }
            };
        }
        Ok(sub)
    }

    pub(crate) async fn save(&self, id: &SourceId, sub: &Subscription) -> Result<(), StoreError> {
        let record = state::record_id(id);
        let mut state = self.ctx.state(&record).await?;
        let mut sealed = sub.clone();
        if let (Some(vault), Some(secret)) = (&self.vault, &sub.secret) {
            let text = vault.seal_text(&secret_context(id), secret.expose_secret());
            sealed.secret = Some(SecretString::from(text));
        }
        sealed.to_state(&mut state);
        self.ctx.save_state(&record, &state).await
    }

    /// Seal a secret stored in plain text by an older build (or before keys were configured).
    /// Returns whether it was rewritten.
    pub async fn seal_stored_secret(&self, id: &SourceId) -> Result<bool, WebSubError> {
        if self.vault.is_none() {
            return Ok(false);
        }
        let entry = self.entry(id.as_str())?;
        let _guard = entry.lock.lock().await;
        let state = self.ctx.state(&state::record_id(id)).await?;
        let raw = Subscription::from_state(&state);
        match &raw.secret {
            Some(secret) if !is_sealed_text(secret.expose_secret()) => {
                self.save(id, &raw).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        self.ctx.now_ms()
    }
}

/// What a subscription secret is sealed for: its source's record, so it opens nowhere else.
fn secret_context(id: &SourceId) -> String {
    format!("websub:{id}")
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub(crate) fn ms(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX / 4)
}
