//! `pinbridge_analytics_*{source}`: each source's Pin analytics over the last
//! [`WINDOW_DAYS`] days as Prometheus gauges. A scrape brings them up to date, but at most once
//! every [`REFRESH_EVERY_MS`]: the roll-up reads every row of the window (Pins × days), and
//! the figures Pinterest reports change daily, so a scrape every 15 s reuses the last values.
//! A source that drops out of the window is set to 0 rather than left at its old figures.

use std::collections::BTreeSet;
use std::sync::Mutex;

use crate::clock::Millis;
use crate::http::HttpState;
use crate::rollup::period::day_of;
use crate::rollup::{Dimension, Period};

/// The window the gauges sum over, ending today (UTC).
pub const WINDOW_DAYS: i64 = 30;
/// The shortest time between two reads of the window.
pub const REFRESH_EVERY_MS: Millis = 5 * 60 * 1000;

#[derive(Default)]
pub struct AnalyticsGauges {
    state: Mutex<Published>,
}

#[derive(Default)]
struct Published {
    at: Option<Millis>,
    sources: BTreeSet<String>,
}

impl AnalyticsGauges {
    /// Read the window and set the gauges, unless that was done less than
    /// [`REFRESH_EVERY_MS`] ago. A store error keeps the last values and tries again next time.
    pub async fn refresh_if_due(&self, state: &HttpState) {
        let now = state.clock.now_ms();
        {
            let mut published = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if published
                .at
                .is_some_and(|at| now.saturating_sub(at) < REFRESH_EVERY_MS)
            {
                return;
            }
            // Claimed before the read, so concurrent scrapes do not read the window twice.
            published.at = Some(now);
        }
        let rollup = match Period::last(WINDOW_DAYS, day_of(now)) {
            Ok(period) => crate::http::analytics::rollup(state, Dimension::Source, period).await,
            Err(_) => return,
        };
        let rollup = match rollup {
            Ok(rollup) => rollup,
            Err(e) => {
                tracing::warn!(error = %e, "Pin analytics unavailable for /metrics; will try again.");
                self.state.lock().unwrap_or_else(|e| e.into_inner()).at = None;
                return;
            }
        };
        let mut published = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now_listed: BTreeSet<String> = rollup.groups.iter().map(|g| g.key.clone()).collect();
        for gone in published.sources.difference(&now_listed) {
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
        published.sources = now_listed;
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
