//! Which watched Pins are due and which days to fetch. Young Pins change fast and are fetched
//! every run; figures of older ones move slowly, so they are fetched less often; past
//! `lookback` a Pin is no longer followed (Pinterest answers at most 90 days back anyway).

use crate::pinterest::analytics::MAX_DAYS_BACK;
use crate::store::{Millis, PinWatch, utc_day_of};

const DAY_MS: i64 = 86_400_000;
/// Younger than this: every run.
const EVERY_RUN_DAYS: i64 = 7;
/// Up to this age: once a day; older: once a week.
const DAILY_DAYS: i64 = 30;
/// Days before the last one fetched that are asked for again: Pinterest may still correct
/// the latest figures (estimates) for a day or two.
pub(crate) const RESTATE_DAYS: i64 = 2;

/// The days to fetch for one Pin, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Due {
    pub from: i64,
    pub to: i64,
}

/// How long after its last fetch a Pin of `age_days` is due again. `fresh_ms` is the least gap
/// for any Pin (a fraction of the run interval), so a restart does not fetch again what the
/// last run just fetched.
fn gap_ms(age_days: i64, fresh_ms: i64) -> i64 {
    let tier = if age_days < EVERY_RUN_DAYS {
        0
    } else if age_days <= DAILY_DAYS {
        DAY_MS
    } else {
        7 * DAY_MS
    };
    tier.max(fresh_ms)
}

/// Whether `watch` is due at `now`, and for which days: from the day it was made (or, once
/// fetched, a little before the last day fetched), never further back than `lookback_days`
/// or the API allows, up to today.
pub(crate) fn due(watch: &PinWatch, now: Millis, lookback_days: i64, fresh_ms: i64) -> Option<Due> {
    let today = utc_day_of(now);
    let made = utc_day_of(watch.made_at);
    let age = today - made;
    let lookback = lookback_days.clamp(1, MAX_DAYS_BACK);
    if age > lookback {
        return None;
    }
    if let Some(at) = watch.fetched_at
        && now - at < gap_ms(age, fresh_ms)
    {
        return None;
    }
    let mut from = made.max(today - lookback);
    if let Some(through) = watch.fetched_through {
        from = from.max(through + 1 - RESTATE_DAYS);
    }
    Some(Due {
        from: from.min(today),
        to: today,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{DedupKey, SourceId};

    const NOW: Millis = 20_800 * DAY_MS + 10 * 3_600_000;
    const HOUR: i64 = 3_600_000;

    fn watch(made_days_ago: i64, fetched_hours_ago: Option<i64>, through: Option<i64>) -> PinWatch {
        PinWatch {
            pin_id: "1".into(),
            account: "main".into(),
            source: SourceId::new("s"),
            item: DedupKey::new("guid", "k"),
            route: "r".into(),
            board: "b".into(),
            categories: vec![],
            made_at: NOW - made_days_ago * DAY_MS,
            fetched_at: fetched_hours_ago.map(|h| NOW - h * HOUR),
            fetched_through: through,
        }
    }

    #[test]
    fn a_new_pin_is_fetched_from_the_day_it_was_made() {
        assert_eq!(
            due(&watch(3, None, None), NOW, 90, HOUR),
            Some(Due {
                from: 20_797,
                to: 20_800
            })
        );
    }

    #[test]
    fn young_pins_every_run_older_daily_then_weekly_then_never() {
        // Fetched two hours ago: a young Pin is due again (the run interval is an hour)…
        assert!(due(&watch(3, Some(2), Some(20_799)), NOW, 90, HOUR).is_some());
        // …but not within the interval: a restart does not fetch it again.
        assert!(due(&watch(3, Some(0), Some(20_799)), NOW, 90, HOUR).is_none());
        assert!(due(&watch(20, Some(2), Some(20_799)), NOW, 90, HOUR).is_none());
        assert!(due(&watch(20, Some(25), Some(20_799)), NOW, 90, HOUR).is_some());
        assert!(due(&watch(40, Some(25), Some(20_799)), NOW, 90, HOUR).is_none());
        assert!(due(&watch(40, Some(7 * 24), Some(20_799)), NOW, 90, HOUR).is_some());
        assert!(due(&watch(91, None, None), NOW, 90, HOUR).is_none());
        assert!(
            due(&watch(40, None, None), NOW, 30, HOUR).is_none(),
            "past lookback"
        );
    }

    #[test]
    fn a_fetched_pin_asks_again_only_for_the_last_days() {
        assert_eq!(
            due(&watch(20, Some(25), Some(20_799)), NOW, 90, HOUR),
            Some(Due {
                from: 20_799 + 1 - RESTATE_DAYS,
                to: 20_800
            })
        );
        // Never further back than lookback, however old the Pin.
        assert_eq!(
            due(&watch(60, None, None), NOW, 90, HOUR).unwrap().from,
            20_740
        );
        assert_eq!(due(&watch(10, None, None), NOW, 5, HOUR), None);
        assert_eq!(
            due(&watch(4, None, None), NOW, 5, HOUR).unwrap().from,
            20_796
        );
    }
}
