//! The last [`WINDOW_DAYS`] days of Pin analytics by source, as the status page's card and the
//! `pinbridge_analytics_*{source}` gauges show them. Rolling up reads every row of the window
//! (Pins × days: about 0.7 s for 2,000 Pins in a dev build, `benches/analytics_views.rs`),
//! while the figures Pinterest reports change once a day and the collector runs hourly; so the
//! roll-up is kept and read again at most every [`REFRESH_EVERY_MS`], however often the page is
//! opened or `/metrics` scraped. A source that drops out of the window is set to 0 rather than
//! left at its old figures.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::clock::Millis;
use crate::http::HttpState;
use crate::rollup::period::day_of;
use crate::rollup::{Dimension, Period, Rollup};
use crate::store::StoreResult;

/// The window, ending today (UTC).
pub const WINDOW_DAYS: i64 = 30;
/// The longest a kept roll-up is shown before the window is read again.
pub const REFRESH_EVERY_MS: Millis = 5 * 60 * 1000;

#[derive(Default)]
pub struct RecentAnalytics {
    /// The kept roll-up and when it was read. An async lock: callers arriving during a read
    /// wait for it instead of reading the window too.
    kept: tokio::sync::Mutex<Option<(Millis, Arc<Rollup>)>>,
    /// The sources the gauges were last set for.
    published: Mutex<BTreeSet<String>>,
}

impl RecentAnalytics {
    /// The roll-up by source over the window, read again when the kept one is older than
    /// [`REFRESH_EVERY_MS`]. A store error is returned and nothing is kept.
    pub async fn by_source(&self, state: &HttpState) -> StoreResult<Arc<Rollup>> {
        let now = state.clock.now_ms();
        let mut kept = self.kept.lock().await;
        if let Some((at, rollup)) = kept.as_ref()
            && now.saturating_sub(*at) < REFRESH_EVERY_MS
        {
            return Ok(rollup.clone());
        }
        let today = day_of(now);
        let period = Period::last(WINDOW_DAYS, today).unwrap_or(Period {
            from_day: today,
            to_day: today,
        });
        let rollup =
            Arc::new(crate::http::analytics::rollup(state, Dimension::Source, period).await?);
        *kept = Some((now, rollup.clone()));
        Ok(rollup)
    }

    /// Set the gauges from [`Self::by_source`]; a store error keeps the last values.
    pub async fn publish_gauges(&self, state: &HttpState) {
        let rollup = match self.by_source(state).await {
            Ok(rollup) => rollup,
            Err(e) => {
                tracing::warn!(error = %e, "Pin analytics unavailable for /metrics; will try again.");
                return;
            }
        };
        let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
        let listed: BTreeSet<String> = rollup.groups.iter().map(|g| g.key.clone()).collect();
        for gone in published.difference(&listed) {
            set(gone, [0; 5]);
        }
        for g in &rollup.groups {
            set(
                &g.key,
                [
                    g.pins,
                    g.impressions,
                    g.saves,
                    g.pin_clicks,
                    g.outbound_clicks,
                ],
            );
        }
        *published = listed;
    }
}

fn set(source: &str, figures: [u64; 5]) {
    let [pins, impressions, saves, pin_clicks, outbound_clicks] = figures;
    let source = source.to_string();
    metrics::gauge!("pinbridge_analytics_pins", "source" => source.clone()).set(pins as f64);
    metrics::gauge!("pinbridge_analytics_impressions", "source" => source.clone())
        .set(impressions as f64);
    metrics::gauge!("pinbridge_analytics_saves", "source" => source.clone()).set(saves as f64);
    metrics::gauge!("pinbridge_analytics_pin_clicks", "source" => source.clone())
        .set(pin_clicks as f64);
    metrics::gauge!("pinbridge_analytics_outbound_clicks", "source" => source)
        .set(outbound_clicks as f64);
}
