//! What the sandbox reports for a Pin's day, and the `org_analytics` quota its analytics calls
//! take from (separate from the write quota, as on Pinterest).
//!
//! Figures are a function of the Pin id and the day only, so every run, test and demo sees the
//! same numbers: a hash of the id sets the Pin's reach and rates, impressions fall off with the
//! Pin's age, and each day adds a little hash-seeded noise. Impressions ≥ Pin clicks ≥ outbound
//! clicks, saves stay small, and a Pin has nothing before the day it was made.

use super::Inner;
use super::quota::{quota_exceeded, sliding_minute};
use super::validation::SbError;
use crate::clock::Millis;

/// One day's figures before any split by app type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Figures {
    pub impressions: u64,
    pub saves: u64,
    pub pin_clicks: u64,
    pub outbound_clicks: u64,
}

/// splitmix64: a small, well-mixed hash step (fixed, so figures never change between builds).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The Pin's figures on `day`, made on `made_day`; `today` is partial (half a day so far).
pub(crate) fn figures(pin_id: u64, made_day: i64, day: i64, today: i64) -> Figures {
    if day < made_day || day > today {
        return Figures::default();
    }
    let seed = mix(pin_id);
    let reach = 40 + seed % 360;
    let age = (day - made_day) as u64;
    let noise = mix(seed ^ day as u64) % (reach / 10 + 1);
    let mut impressions = reach * 4 / (age + 4) + noise;
    if day == today {
        impressions /= 2;
    }
    let pin_clicks = impressions * (3 + (seed >> 8) % 6) / 100;
    let outbound_clicks = pin_clicks * (25 + (seed >> 16) % 50) / 100;
    let saves = impressions / (60 + (seed >> 24) % 60);
    Figures {
        impressions,
        saves,
        pin_clicks,
        outbound_clicks,
    }
}

/// Shares of the app types when the answer is split (`split_field=APP_TYPE`): mobile 60 %,
/// web 30 %, tablet the rest, so the parts always add up to the whole.
pub(crate) fn share(value: u64, app_type: &str) -> u64 {
    let (mobile, web) = (value * 6 / 10, value * 3 / 10);
    match app_type {
        "MOBILE" => mobile,
        "WEB" => web,
        "TABLET" => value - mobile - web,
        _ => value,
    }
}

/// Admit one analytics call for `user_id`: forced analytics 429s first, then the
/// `org_analytics` quota (a sliding minute per user, counted apart from writes).
pub(crate) fn admit_analytics(sb: &Inner, user_id: &str, now: Millis) -> Result<(), SbError> {
    let mut st = sb.lock();
    st.stats.analytics_requests += 1;
    if st.analytics_burst_left > 0 {
        st.analytics_burst_left -= 1;
        st.stats.rate_limited += 1;
        st.stats.analytics_rate_limited += 1;
        let mut e = SbError::rate_limited(0, false);
        e.retry_after = st.faults.burst_retry_after;
        return Err(e);
    }
    let Some(quota) = sb.config.analytics_quota_per_minute else {
        return Ok(());
    };
    let window = st.analytics_calls.entry(user_id.to_string()).or_default();
    let Some(wait_ms) = sliding_minute(window, quota, now) else {
        return Ok(());
    };
    st.stats.rate_limited += 1;
    st.stats.analytics_rate_limited += 1;
    Err(quota_exceeded(sb.config.quota_headers, quota, wait_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_ordered_deterministic_and_start_with_the_pin() {
        for pin in [549_755_813_900u64, 1, 42, 987_654_321] {
            assert_eq!(figures(pin, 100, 99, 130), Figures::default());
            assert_eq!(figures(pin, 100, 131, 130), Figures::default());
            for day in 100..=130 {
                let f = figures(pin, 100, day, 130);
                assert_eq!(f, figures(pin, 100, day, 130));
                assert!(f.impressions > 0, "a live Pin is seen");
                assert!(f.impressions >= f.pin_clicks && f.pin_clicks >= f.outbound_clicks);
                assert!(f.saves <= f.impressions / 60);
            }
            assert!(
                figures(pin, 100, 101, 130).impressions > figures(pin, 100, 129, 130).impressions,
                "a young Pin is seen more than an old one"
            );
        }
    }

    #[test]
    fn app_type_shares_add_up() {
        for value in [0, 1, 7, 99, 1000] {
            let parts: u64 = ["MOBILE", "WEB", "TABLET"]
                .iter()
                .map(|a| share(value, a))
                .sum();
            assert_eq!(parts, value);
        }
    }
}
