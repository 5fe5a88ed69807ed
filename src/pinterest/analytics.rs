//! Pin analytics (`org_analytics` rate limit): `GET /pins/{pin_id}/analytics` for one Pin and
//! the beta `GET /pins/analytics?pin_ids=…` for up to 100, each a range of UTC days, parsed
//! into one [`DayFigures`] per day. Days are day numbers (days since 1970-01-01), dates on the
//! wire are `YYYY-MM-DD` (UTC).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::client::{Call, PinterestClient};
use super::error::ApiError;

/// The metrics pinbridge asks for (image Pins report no video starts: they read as 0).
pub const METRIC_TYPES: &str = "IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK,VIDEO_START";
/// Pins per batch call (the operation's documented maximum).
pub const MAX_BATCH: usize = 100;
/// Days a call may cover: `end_date` "cannot be more than 90 days past start_date".
pub const MAX_SPAN_DAYS: i64 = 90;
/// How far back `start_date` may be: "cannot be more than 90 days back from today".
pub const MAX_DAYS_BACK: i64 = 90;

/// One Pin's figures for one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub day: i64,
    /// Pinterest calls the day final (`data_status` other than `PROCESSING`): a day still
    /// processing is fetched again later.
    pub ready: bool,
    pub impressions: u64,
    pub saves: u64,
    pub pin_clicks: u64,
    pub outbound_clicks: u64,
    pub video_starts: u64,
}

/// One Pin's answer (`PinAnalyticsResponse`): an object keyed by app type (`ALL` unless the
/// data is split) of `PinAnalyticsMetricsResponse`.
type PinAnswer = BTreeMap<String, MetricsAnswer>;

#[derive(Debug, Deserialize)]
struct MetricsAnswer {
    #[serde(default)]
    daily_metrics: Vec<DailyAnswer>,
}

#[derive(Debug, Deserialize)]
struct DailyAnswer {
    date: String,
    #[serde(default)]
    data_status: Option<String>,
    #[serde(default)]
    metrics: HashMap<String, f64>,
}

impl PinterestClient {
    /// Daily figures of one Pin for `from_day..=to_day` (at most [`MAX_SPAN_DAYS`] apart).
    pub async fn pin_analytics(
        &self,
        pin_id: &str,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<DayFigures>, ApiError> {
        let path = ["pins", pin_id, "analytics"];
        let mut call = Call::get(&path);
        call.query = range_query(from_day, to_day);
        let answer: PinAnswer = self.send(call).await?;
        figures_of(answer)
    }

    /// Daily figures of up to [`MAX_BATCH`] Pins in one call (beta: an app without access gets
    /// a refusal, see [`ApiError::batch_unavailable`]). Pins missing from the answer are
    /// missing from the map.
    pub async fn pins_analytics(
        &self,
        pin_ids: &[String],
        from_day: i64,
        to_day: i64,
    ) -> Result<HashMap<String, Vec<DayFigures>>, ApiError> {
        let path = ["pins", "analytics"];
        let mut call = Call::get(&path);
        // `pin_ids` is an array in form style, exploded (the default): one pair per id.
        call.query = pin_ids.iter().map(|id| ("pin_ids", id.clone())).collect();
        call.query.extend(range_query(from_day, to_day));
        let answer: HashMap<String, PinAnswer> = self.send(call).await?;
        answer
            .into_iter()
            .map(|(pin, figures)| Ok((pin, figures_of(figures)?)))
            .collect()
    }
}

impl ApiError {
    /// Whether an answer to the batch analytics call says this app may not use it. Pinterest
    /// documents the operation as "in beta and not available to all apps" without saying how
    /// it refuses; a 403 (or a 401 that survived a token refresh, which the operation lists
    /// as "Not authorized") is read as that refusal, and the Pins are fetched one a call.
    pub fn batch_unavailable(&self) -> bool {
        matches!(
            self,
            ApiError::Forbidden { .. } | ApiError::Unauthorized { .. }
        )
    }
}

fn range_query(from_day: i64, to_day: i64) -> Vec<(&'static str, String)> {
    vec![
        ("start_date", day_to_date(from_day)),
        ("end_date", day_to_date(to_day)),
        ("metric_types", METRIC_TYPES.to_string()),
    ]
}

/// The days of one Pin's answer, summed over app types (an unsplit answer has one, `ALL`),
/// in day order.
fn figures_of(answer: PinAnswer) -> Result<Vec<DayFigures>, ApiError> {
    let mut days: BTreeMap<i64, DayFigures> = BTreeMap::new();
    for metrics in answer.into_values() {
        for daily in metrics.daily_metrics {
            let day = date_to_day(&daily.date).ok_or_else(|| ApiError::Decode {
                message: format!("analytics date `{}` is not YYYY-MM-DD", daily.date),
                request_id: None,
            })?;
            let get = |name: &str| {
                daily.metrics.get(name).map_or(0, |v| {
                    if v.is_finite() && *v > 0.0 {
                        *v as u64
                    } else {
                        0
                    }
                })
            };
            let entry = days.entry(day).or_insert(DayFigures {
                day,
                ready: true,
                ..DayFigures::default()
            });
            entry.ready &= daily.data_status.as_deref() != Some("PROCESSING");
            entry.impressions += get("IMPRESSION");
            entry.saves += get("SAVE");
            entry.pin_clicks += get("PIN_CLICK");
            entry.outbound_clicks += get("OUTBOUND_CLICK");
            entry.video_starts += get("VIDEO_START");
        }
    }
    Ok(days.into_values().collect())
}

/// Julian day number of 1970-01-01.
const EPOCH_JULIAN_DAY: i64 = 2_440_588;

/// `YYYY-MM-DD` of a UTC day number.
pub fn day_to_date(day: i64) -> String {
    let julian = i32::try_from(day + EPOCH_JULIAN_DAY).unwrap_or(EPOCH_JULIAN_DAY as i32);
    let date = time::Date::from_julian_day(julian).unwrap_or(time::Date::MIN);
    let format = time::macros::format_description!("[year]-[month]-[day]");
    date.format(&format).unwrap_or_default()
}

/// The UTC day number of a `YYYY-MM-DD` date.
pub fn date_to_day(date: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(date, &format).ok()?;
    Some(i64::from(date.to_julian_day()) - EPOCH_JULIAN_DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_dates_convert_both_ways() {
        assert_eq!(day_to_date(0), "1970-01-01");
        assert_eq!(day_to_date(20_794), "2026-12-07");
        assert_eq!(date_to_day("2026-12-07"), Some(20_794));
        assert_eq!(date_to_day("2026-13-01"), None);
        assert_eq!(date_to_day("yesterday"), None);
    }

    #[test]
    fn app_types_are_summed_and_a_processing_day_is_not_ready() {
        let answer: PinAnswer = serde_json::from_str(
            r#"{
              "WEB": {"daily_metrics": [
                 {"date": "2026-12-06", "data_status": "READY", "metrics": {"IMPRESSION": 10, "PIN_CLICK": 2}},
                 {"date": "2026-12-07", "data_status": "PROCESSING", "metrics": {"IMPRESSION": 1}}]},
              "MOBILE": {"daily_metrics": [
                 {"date": "2026-12-06", "data_status": "READY", "metrics": {"IMPRESSION": 5, "SAVE": 1, "SAVE_RATE": 0.2}}]}
            }"#,
        )
        .unwrap();
        let days = figures_of(answer).unwrap();
        assert_eq!(
            days,
            vec![
                DayFigures {
                    day: 20_793,
                    ready: true,
                    impressions: 15,
                    saves: 1,
                    pin_clicks: 2,
                    ..DayFigures::default()
                },
                DayFigures {
                    day: 20_794,
                    ready: false,
                    impressions: 1,
                    ..DayFigures::default()
                }
            ]
        );
    }
}
