//! Everything else the store keeps: per-source and per-account state, shared quotas, runtime
//! configuration records, quarantined records and counts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Millis;

/// Per-source polling state: validators, schedule, errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceState {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_poll: Option<Millis>,
    pub next_poll: Option<Millis>,
    pub last_success: Option<Millis>,
    pub error_count: u32,
    pub last_error: Option<String>,
    /// Set after too many consecutive errors: polled only at a slow rate, and why.
    pub parked: Option<String>,
    /// The first poll (baseline) is done: later polls pin new items.
    pub baselined: bool,
    /// Source-specific extras (WebSub lease, adaptive interval figures, …).
    pub extra: BTreeMap<String, String>,
}

/// Per-account state shared by the sync engine: rate-limit block and tokens.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountState {
    /// Do not call Pinterest for this account before this time (after a 429).
    pub blocked_until: Option<Millis>,
    /// Why the account is not usable (needs `pinbridge auth`, paused for spam, …).
    pub problem: Option<String>,
    /// Tokens as the pinterest module serialises them (encrypted at rest by that module).
    pub tokens: Option<Vec<u8>>,
    /// The UTC day (days since the epoch) `day_pins` counts, so the daily cap survives restarts.
    pub day: Option<i64>,
    /// Pin creates sent on `day`.
    pub day_pins: u32,
    /// "Connect Pinterest account" flows started from a browser and not finished yet. Kept
    /// here (not in one process's memory) so the callback may reach any replica.
    pub connects: Vec<PendingConnect>,
}

/// One OAuth code flow waiting for Pinterest to send the browser back. Holds digests only:
/// the `state` value is in the authorize URL, the browser's value in its cookie.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PendingConnect {
    /// SHA-256 of `state`, hex.
    pub state_digest: String,
    /// SHA-256 of the value of the cookie given to the browser that started the flow, hex;
    /// `None` when an API client with the admin token started it (no browser to bind).
    pub browser_digest: Option<String>,
    /// The callback is refused from this time on.
    pub expires_at: Millis,
    /// Set by the one callback that took this flow (a random claim id): a flow is used once.
    pub claimed_by: Option<String>,
}

/// A change to an account's record, applied atomically by `update_account_state`. It may run
/// more than once (a backend may retry its transaction), so it must only depend on its input.
pub type AccountUpdate = Box<dyn Fn(&mut AccountState) + Send + Sync>;
/// An account's quota as several replicas share it: the rate-limit block and the
/// daily Pin count, read from the store before each create.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountQuota {
    /// No calls for this account before this time (a 429 seen by any replica).
    pub blocked_until: Option<Millis>,
    /// The UTC day `day_pins` counts.
    pub day: Option<i64>,
    /// Pin creates reserved on `day`, by every replica together.
    pub day_pins: u32,
}

/// Milliseconds between slots at `per_minute`, and how far ahead of `now` the next slot may
/// be while a write still goes (the burst). Both backends use it.
pub fn write_slot_spacing(per_minute: f64, burst: u32) -> (Millis, Millis) {
    let per_minute = if per_minute.is_finite() && per_minute > 0.0 {
        per_minute
    } else {
        1.0
    };
    let interval = (60_000.0 / per_minute).ceil().max(1.0) as Millis;
    let tolerance = interval.saturating_mul(Millis::from(burst.max(1) - 1));
    (interval, tolerance)
}

/// A record that failed its checksum or could not be decoded, moved aside instead of panicking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub tree: String,
    pub key: String,
    pub reason: String,
    pub at: Millis,
}

/// Counts for status pages and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoreStats {
    pub items: u64,
    pub jobs_by_state: BTreeMap<String, u64>,
    pub quarantined: u64,
    pub size_on_disk: u64,
}

/// What a [`ConfigRecord`] holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigRecordKind {
    /// A `[[sources]]` entry created through the API.
    Source,
    /// A `[[routes]]` entry created through the API (id = the route's name).
    Route,
    /// `paused` set through the API for a source of any origin (id = the source id).
    PauseOverride,
}

impl ConfigRecordKind {
    pub fn name(self) -> &'static str {
        match self {
            ConfigRecordKind::Source => "source",
            ConfigRecordKind::Route => "route",
            ConfigRecordKind::PauseOverride => "pause_override",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Source, Self::Route, Self::PauseOverride]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// One runtime configuration record. `body` is JSON: the entry with exactly the keys it has in
/// TOML (sources, routes) or `{"paused": bool}` (pause overrides).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRecord {
    pub kind: ConfigRecordKind,
    pub id: String,
    pub body: String,
}
