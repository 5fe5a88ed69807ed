//! Pin analytics as the store keeps them: one row per Pin and UTC day, carrying what made the
//! Pin (source, item, route, board, categories) so a roll-up needs no other reads; and the
//! collector's own record of each Pin it watches (what it fetched, and when).

use serde::{Deserialize, Serialize};

use super::Millis;
use crate::item::{DedupKey, SourceId};

/// One Pin's figures for one UTC day, with what made the Pin (kept with the row, so a
/// roll-up needs no other reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinDay {
    pub pin_id: String,
    pub account: String,
    #[schema(value_type = String)]
    pub source: SourceId,
    #[schema(value_type = String)]
    pub item: DedupKey,
    pub route: String,
    pub board: String,
    /// The item's categories when collected.
    pub categories: Vec<String>,
    /// UTC day number: days since 1970-01-01 (as `Accounts::reserve_daily_pin` counts days).
    pub day: i64,
    pub metrics: PinMetrics,
}

/// A Pin's figures for one day, as Pinterest reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinMetrics {
    pub impressions: u64,
    pub saves: u64,
    pub pin_clicks: u64,
    pub outbound_clicks: u64,
    pub video_starts: u64,
}

/// A Pin the analytics collector watches: where it came from (copied into every row it
/// collects), when it was made, and how far its figures have been fetched. Kept per account,
/// so one collector reads its own Pins only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinWatch {
    pub pin_id: String,
    pub account: String,
    pub source: SourceId,
    pub item: DedupKey,
    pub route: String,
    pub board: String,
    pub categories: Vec<String>,
    /// When the create job finished: the Pin has no figures before that day.
    pub made_at: Millis,
    /// When its figures were last fetched (`None`: never).
    pub fetched_at: Option<Millis>,
    /// The last UTC day those figures covered.
    pub fetched_through: Option<i64>,
}

impl PinWatch {
    /// A row for `day` with this Pin's attribution.
    pub fn row(&self, day: i64, metrics: PinMetrics) -> PinDay {
        PinDay {
            pin_id: self.pin_id.clone(),
            account: self.account.clone(),
            source: self.source.clone(),
            item: self.item.clone(),
            route: self.route.clone(),
            board: self.board.clone(),
            categories: self.categories.clone(),
            day,
            metrics,
        }
    }
}

/// A daily row's identity in export order: (day, pin_id).
pub type PinDayCursor = (i64, String);

/// The UTC day number (days since 1970-01-01) of `at`.
pub fn utc_day_of(at: Millis) -> i64 {
    at.div_euclid(86_400_000)
}
