//! Times as people read them on the status page: "3 min ago", "in 12 min", and the exact UTC
//! time (for a `title` attribute, or where an exact time is the point, as in a 429 block).

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::clock::Millis;

/// A moment as people read it, with the exact UTC time for a tooltip.
#[derive(Serialize)]
pub struct Moment {
    pub text: String,
    pub exact: String,
}

impl Moment {
    pub fn new(at: Millis, now: Millis) -> Self {
        Moment {
            text: relative(at, now),
            exact: utc(at),
        }
    }
}

/// A moment relative to `now`: "just now", "3 min ago", "in 12 min", "2 h ago", "in 3 days".
pub fn relative(at: Millis, now: Millis) -> String {
    let delta = at.saturating_sub(now);
    let seconds = delta.unsigned_abs() / 1000;
    if seconds < 45 {
        return "just now".into();
    }
    let minutes = (seconds + 30) / 60;
    let span = if minutes < 90 {
        format!("{minutes} min")
    } else if minutes < 36 * 60 {
        format!("{} h", (minutes + 30) / 60)
    } else {
        format!("{} days", (minutes + 12 * 60) / (24 * 60))
    };
    if delta < 0 {
        format!("{span} ago")
    } else {
        format!("in {span}")
    }
}

fn moment(at: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(at.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The exact time: "2026-12-07 14:05:09 UTC".
pub fn utc(at: Millis) -> String {
    moment(at)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

/// A clock time: "14:05 UTC" on `now`'s UTC day, with the date in front on any other day.
pub fn clock_time(at: Millis, now: Millis) -> String {
    let (then, today) = (moment(at), moment(now));
    if then.date() == today.date() {
        then.format(format_description!("[hour]:[minute] UTC"))
            .unwrap_or_default()
    } else {
        then.format(format_description!(
            "[year]-[month]-[day] [hour]:[minute] UTC"
        ))
        .unwrap_or_default()
    }
}

/// The UTC day (days since the epoch) of `at`, as the daily Pin count keeps it.
pub fn utc_day(at: Millis) -> i64 {
    at.div_euclid(24 * 3600 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_796_654_400_000; // 2026-12-07 14:40:00 UTC

    #[test]
    fn recent_and_coming_moments_read_as_people_say_them() {
        assert_eq!(relative(NOW - 10_000, NOW), "just now");
        assert_eq!(relative(NOW + 20_000, NOW), "just now");
        assert_eq!(relative(NOW - 3 * 60_000, NOW), "3 min ago");
        assert_eq!(relative(NOW + 12 * 60_000, NOW), "in 12 min");
        assert_eq!(relative(NOW - 2 * 3_600_000, NOW), "2 h ago");
        assert_eq!(relative(NOW + 3 * 86_400_000, NOW), "in 3 days");
    }

    #[test]
    fn exact_times_are_utc() {
        assert_eq!(utc(NOW), "2026-12-07 14:40:00 UTC");
        assert_eq!(clock_time(NOW + 20 * 60_000, NOW), "15:00 UTC");
        assert_eq!(clock_time(NOW + 86_400_000, NOW), "2026-12-08 14:40 UTC");
        assert_eq!(utc_day(NOW), 20_794);
    }
}
