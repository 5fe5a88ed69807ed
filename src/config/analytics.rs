//! `[analytics]`: collecting the daily figures of the Pins pinbridge made (`crate::analytics`).

use std::time::Duration;

use serde::Deserialize;

use crate::settings::ConfigProblem;

/// Pinterest answers Pin analytics at most this far back.
const MAX_LOOKBACK: Duration = Duration::from_secs(90 * 86_400);

#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct AnalyticsConfig {
    /// Collect at all.
    pub enabled: bool,
    /// Time between the starts of two collection runs (per account).
    #[serde(with = "crate::settings::serde_util::duration")]
    pub interval: Duration,
    /// Analytics calls per minute per account: Pinterest's `org_analytics` quota, counted
    /// apart from writes (60 on Standard access).
    pub per_minute: u32,
    /// Pins older than this are no longer collected; at most 90 days.
    #[serde(with = "crate::settings::serde_util::duration")]
    pub lookback: Duration,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(3600),
            per_minute: 60,
            lookback: MAX_LOOKBACK,
        }
    }
}

impl AnalyticsConfig {
    pub fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        if self.per_minute == 0 {
            problems.push(ConfigProblem::new(
                "analytics.per_minute",
                "must be at least 1 (set analytics.enabled = false to collect nothing)",
            ));
        }
        if self.interval < Duration::from_secs(1) {
            problems.push(ConfigProblem::new(
                "analytics.interval",
                "must be at least 1s",
            ));
        }
        if self.lookback < Duration::from_secs(86_400) || self.lookback > MAX_LOOKBACK {
            problems.push(ConfigProblem::new(
                "analytics.lookback",
                "must be between 1d and 90d: Pinterest answers Pin analytics at most 90 days back",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_reported_with_its_key() {
        let mut problems = Vec::new();
        AnalyticsConfig::default().validate(&mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let bad = AnalyticsConfig {
            per_minute: 0,
            lookback: Duration::from_secs(100 * 86_400),
            ..AnalyticsConfig::default()
        };
        bad.validate(&mut problems);
        let keys: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(keys, ["analytics.per_minute", "analytics.lookback"]);
    }
}
