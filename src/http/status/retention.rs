//! What retention keeps and what its last run did, for the status page. The service's
//! retention task (`app/retention.rs`) records each run here; nothing is read from the store.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use super::when::Moment;
use crate::clock::Millis;
use crate::store::retention::CompactedCounts;

/// One run of retention.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionRun {
    /// When it started (the time it compared against).
    pub at: Millis,
    pub compacted: CompactedCounts,
    /// Expired webhook delivery ids dropped.
    pub deliveries: u64,
    /// It walked the whole store (false when shutdown stopped it half way).
    pub complete: bool,
}

/// The configured horizon, the last run and the totals since the start, shared by the task
/// and the status page.
#[derive(Debug, Default)]
pub struct RetentionStatus {
    keep_payloads: Option<Duration>,
    last: Mutex<Option<RetentionRun>>,
    /// Every run since the start added up (`at` and `complete` are the last run's).
    total: Mutex<RetentionRun>,
}

/// The status page's retention line.
#[derive(Serialize)]
pub struct RetentionLine {
    /// What is kept, in words.
    pub keeps: String,
    /// When retention last ran (none yet after a start).
    pub last_run: Option<Moment>,
    /// What every run since the start compacted and dropped.
    pub items: u64,
    pub jobs: u64,
    pub deliveries: u64,
    pub complete: bool,
}

impl RetentionStatus {
    pub fn new(keep_payloads: Option<Duration>) -> Self {
        RetentionStatus {
            keep_payloads,
            ..RetentionStatus::default()
        }
    }

    pub fn keep_payloads(&self) -> Option<Duration> {
        self.keep_payloads
    }

    pub fn record(&self, run: RetentionRun) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(run);
        let mut total = self.total.lock().unwrap_or_else(|e| e.into_inner());
        total.compacted.items += run.compacted.items;
        total.compacted.jobs += run.compacted.jobs;
        total.deliveries += run.deliveries;
    }

    pub fn last(&self) -> Option<RetentionRun> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every run since the start added up.
    pub fn total(&self) -> RetentionRun {
        *self.total.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn line(&self, now: Millis) -> RetentionLine {
        let keeps = match self.keep_payloads {
            Some(keep) => format!(
                "Item payloads are kept {} after an item was last seen; keys, fingerprints and \
                 Pin ids are kept forever.",
                span(keep)
            ),
            None => "Item payloads are kept forever (keep_payloads = \"off\").".to_string(),
        };
        let (last, total) = (self.last(), self.total());
        RetentionLine {
            keeps,
            last_run: last.map(|run| Moment::new(run.at, now)),
            items: total.compacted.items,
            jobs: total.compacted.jobs,
            deliveries: total.deliveries,
            complete: last.is_none_or(|run| run.complete),
        }
    }
}

/// "90 days", "1 day", "12 hours", else humantime's "1h 30m".
fn span(d: Duration) -> String {
    let secs = d.as_secs();
    let whole = |unit: u64, name: &str| {
        let n = secs / unit;
        (secs.is_multiple_of(unit) && n > 0)
            .then(|| format!("{n} {name}{}", if n == 1 { "" } else { "s" }))
    };
    whole(86_400, "day")
        .or_else(|| whole(3_600, "hour"))
        .unwrap_or_else(|| humantime::format_duration(d).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_what_is_kept_and_what_the_last_run_did() {
        let off = RetentionStatus::new(None).line(0);
        assert!(off.keeps.contains("kept forever"), "{}", off.keeps);
        assert!(off.last_run.is_none());

        let status = RetentionStatus::new(Some(Duration::from_secs(90 * 86_400)));
        status.record(RetentionRun {
            at: 1_000,
            compacted: CompactedCounts { items: 3, jobs: 2 },
            deliveries: 5,
            complete: true,
        });
        status.record(RetentionRun {
            at: 2_000,
            compacted: CompactedCounts { items: 1, jobs: 0 },
            deliveries: 0,
            complete: true,
        });
        let line = status.line(2_000 + 10 * 60_000);
        assert!(line.keeps.contains("kept 90 days after"), "{}", line.keeps);
        assert_eq!(
            line.last_run.map(|m| m.text),
            Some("10 min ago".to_string())
        );
        assert_eq!(
            (line.items, line.jobs, line.deliveries),
            (4, 2, 5),
            "since the start"
        );
    }

    #[test]
    fn horizons_read_in_whole_units() {
        assert_eq!(span(Duration::from_secs(86_400)), "1 day");
        assert_eq!(span(Duration::from_secs(12 * 3_600)), "12 hours");
        assert_eq!(span(Duration::from_secs(5_400)), "1h 30m");
    }
}
