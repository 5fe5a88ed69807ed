//! Config sections read below the config loader: `[store]` opens the store and `[[accounts]]`
//! seeds each account's tokens. They live in the leaf settings module so the store and the
//! sync engine take them without importing the config loader (which imports them back).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::ConfigProblem;

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// Directory of the embedded sled store.
    pub path: PathBuf,
    /// `postgres://…` selects the PostgreSQL store instead.
    pub url: Option<SecretString>,
    /// sled's page cache in MiB. Real memory use is higher; keep it small in containers.
    pub cache_capacity_mb: u64,
    /// Keys sealing OAuth tokens at rest: one base64 key, or `ID:KEY,ID:KEY` (the first seals).
    /// Default: the `PINBRIDGE_TOKEN_KEYS` or `PINBRIDGE_TOKEN_KEY` environment variable.
    pub token_keys: Option<SecretString>,
    /// How long after an item was last seen its payload (title, description, link, image,
    /// categories, fields) is kept; after that only what dedup and Pin tracking need stays.
    /// `None` ("off", the default): kept forever.
    #[serde(with = "super::serde_util::duration_or_off")]
    pub keep_payloads: Option<Duration>,
    /// How often retention runs: expired webhook delivery ids are dropped and, with
    /// `keep_payloads`, old payloads compacted.
    #[serde(with = "super::serde_util::duration")]
    pub retention_every: Duration,
    /// zstd page compression of a new sled store (an existing one keeps what it was created with).
    pub compression: Compression,
    /// The key-value engine of a new embedded store (an existing one opens with its own).
    pub engine: Engine,
}

/// `[store] engine`: what a new embedded store at `[store] path` is written with
/// (`store/sled/kv/`). An existing store is read with the engine whose files it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// sled 0.34: a B-tree over a log.
    #[default]
    Sled,
    /// fjall 3: an LSM tree with a journal; flat cost per item to millions of items.
    Fjall,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sled => "sled",
            Self::Fjall => "fjall",
        }
    }
}

/// `[store] compression`: whether sled compresses the pages it writes (`store/sled/compression.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Pages stored as they are: the fastest acks.
    #[default]
    Off,
    /// Pages compressed with zstd (level 1) before they reach the log: about half the disk,
    /// about half the webhook acks a second (docs/BENCHMARKS.md, "sled's settings").
    Zstd,
}

impl Compression {
    pub fn is_on(self) -> bool {
        self == Self::Zstd
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Zstd => "zstd",
        }
    }
}

/// The shortest payload horizon: a shorter one would compact items between a source's polls
/// and make the item pages empty while they are still being looked at.
pub const MIN_KEEP_PAYLOADS: Duration = Duration::from_secs(3600);

impl StoreConfig {
    /// The retention settings' problems, each under its key.
    pub fn check(&self, problems: &mut Vec<ConfigProblem>) {
        if self
            .keep_payloads
            .is_some_and(|keep| keep < MIN_KEEP_PAYLOADS)
        {
            problems.push(ConfigProblem::new(
                "store.keep_payloads",
                "must be at least 1h, or \"off\" to keep payloads forever",
            ));
        }
        if self.engine == Engine::Fjall && self.compression.is_on() {
            problems.push(ConfigProblem::new(
                "store.compression",
                "applies to the sled engine only; fjall compresses its deeper levels with lz4 itself: remove the key, or set `engine = \"sled\"`",
            ));
        }
        if self.retention_every.is_zero() {
            problems.push(ConfigProblem::new(
                "store.retention_every",
                "must be longer than 0s",
            ));
        }
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("data/pinbridge.sled"),
            url: None,
            cache_capacity_mb: 16,
            token_keys: None,
            keep_payloads: None,
            retention_every: Duration::from_secs(3600),
            compression: Compression::default(),
            engine: Engine::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AccountConfig {
    pub name: String,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    /// Pinterest's write quota for this account (org_write: 100 a minute on Standard access).
    #[serde(default = "default_writes_per_minute")]
    pub writes_per_minute: u32,
    /// At most this many Pins a day (Pinterest's own RSS import makes at most 200).
    #[serde(default = "default_daily_cap")]
    pub daily_cap: u32,
}

fn default_writes_per_minute() -> u32 {
    100
}
fn default_daily_cap() -> u32 {
    200
}
