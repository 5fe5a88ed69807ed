//! The days a roll-up covers, as UTC day numbers (days since 1970-01-01, the numbering of
//! `PinDay::day`). A period is written as `--since 30d` (the 30 days ending today, today
//! included), `4w`, or as a pair of dates (`2026-11-01` to `2026-11-30`, both included).

use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

use crate::clock::Millis;

const DAY_MS: Millis = 86_400_000;
/// The longest period accepted: a roll-up reads every row of every day it covers, so the read
/// stays bounded by Pins × this many days.
pub const MAX_DAYS: i64 = 400;

/// A closed range of UTC days, `from_day <= to_day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from_day: i64,
    pub to_day: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PeriodError {
    #[error("`{0}` is not a period: write a number of days or weeks such as `30d` or `4w`")]
    Since(String),
    #[error("`{0}` is not a date: write it as YYYY-MM-DD")]
    Date(String),
    #[error("the period ends ({to}) before it starts ({from})")]
    Backwards { from: String, to: String },
    #[error("a period covers at most {MAX_DAYS} days; this one covers {0}")]
    TooLong(i64),
}

/// The UTC day holding `at`.
pub fn day_of(at: Millis) -> i64 {
    at.div_euclid(DAY_MS)
}

/// A day number as `YYYY-MM-DD`.
pub fn date_of(day: i64) -> String {
    let epoch = Date::from_calendar_date(1970, time::Month::January, 1).expect("a valid date");
    match epoch.checked_add(Duration::days(day)) {
        Some(date) => date
            .format(format_description!("[year]-[month]-[day]"))
            .unwrap_or_else(|_| day.to_string()),
        None => day.to_string(),
    }
}

/// `YYYY-MM-DD` as a day number.
pub fn parse_date(text: &str) -> Result<i64, PeriodError> {
    let date = Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
        .map_err(|_| PeriodError::Date(text.to_string()))?;
    let midnight = date.midnight().assume_utc();
    Ok((midnight - OffsetDateTime::UNIX_EPOCH).whole_days())
}

impl Period {
    /// The `days` days ending with `today`.
    pub fn last(days: i64, today: i64) -> Result<Period, PeriodError> {
        Period::new(today - days.max(1) + 1, today)
    }

    /// `from..=to`, checked: not backwards, not longer than [`MAX_DAYS`].
    pub fn new(from_day: i64, to_day: i64) -> Result<Period, PeriodError> {
        if to_day < from_day {
            return Err(PeriodError::Backwards {
                from: date_of(from_day),
                to: date_of(to_day),
            });
        }
        let days = to_day - from_day + 1;
        if days > MAX_DAYS {
            return Err(PeriodError::TooLong(days));
        }
        Ok(Period { from_day, to_day })
    }

    /// `30d` or `4w`: that many days (weeks) ending with `today`.
    pub fn since(text: &str, today: i64) -> Result<Period, PeriodError> {
        let bad = || PeriodError::Since(text.to_string());
        let text = text.trim();
        let (number, unit) = text.split_at(text.len().saturating_sub(1));
        let count: i64 = number.parse().map_err(|_| bad())?;
        let days = match unit {
            "d" => count,
            "w" => count.saturating_mul(7),
            _ => return Err(bad()),
        };
        if days < 1 {
            return Err(bad());
        }
        if days > MAX_DAYS {
            return Err(PeriodError::TooLong(days));
        }
        Period::last(days, today)
    }

    /// The period asked for by `since`, or by `from` and `to` dates (a missing `to` is today,
    /// a missing `from` is 30 days before `to`); neither: the last 30 days.
    pub fn from_query(
        since: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: i64,
    ) -> Result<Period, PeriodError> {
        if let Some(since) = since.filter(|s| !s.is_empty()) {
            return Period::since(since, today);
        }
        let to_day = match to.filter(|s| !s.is_empty()) {
            Some(to) => parse_date(to)?,
            None => today,
        };
        let from_day = match from.filter(|s| !s.is_empty()) {
            Some(from) => parse_date(from)?,
            None => to_day - 29,
        };
        Period::new(from_day, to_day)
    }

    /// How many days the period covers.
    pub fn days(&self) -> i64 {
        self.to_day - self.from_day + 1
    }

    pub fn contains(&self, day: i64) -> bool {
        (self.from_day..=self.to_day).contains(&day)
    }
}
