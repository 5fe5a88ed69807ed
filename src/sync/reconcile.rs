//! After an ambiguous create (timeout, reset, 5xx after the request was sent, or a crash while
//! it was in flight), look for the Pin on the board before making a second one. Pinterest has
//! no idempotency key, so the board's Pins are the only record of whether the create happened.
//!
//! The search is bounded by time, not by a count of Pins: it pages the board newest first until
//! the Pins are older than the moment the create was sent (less a clock-skew margin, since
//! `created_at` is Pinterest's clock and the send time ours). However many Pins landed on the
//! board in between, the one we made is among those pages. A page and time budget keep a huge
//! board from stalling a worker; when it runs out the answer is "undecided", never "absent":
//! creating again on a guess is what makes doubles.

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::template::PinText;
use crate::pinterest::model::Pin;
use crate::pinterest::{ApiError, PinterestClient};
use crate::store::{Job, JobState, Millis};

/// How far one reconcile may look (from `[sync]`).
#[derive(Clone, Debug)]
pub struct ReconcileBudget {
    /// Pages of the board's Pins at most (at the client's page size, 250 by default).
    pub pages: u32,
    /// Wall time at most for one reconcile; the job's lease must outlast it.
    pub time: Duration,
    /// How much earlier than our send time Pinterest's `created_at` may read (clock skew).
    pub skew: Duration,
}

/// What the board says about the create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// The Pin exists: this is its id.
    Found(String),
    /// Every Pin since the create was sent was seen, and none matches: it was not made.
    Absent,
    /// The budget ran out before Pins from before the send were reached; the reason says how
    /// far it got. The create must not be repeated on this answer.
    Undecided(String),
}

/// Look for a Pin matching `text` among the board's Pins created since `sent` (our clock, ms).
pub async fn find_existing_pin(
    client: &PinterestClient,
    board_id: &str,
    text: &PinText,
    sent: Millis,
    budget: &ReconcileBudget,
) -> Result<Search, ApiError> {
    let cutoff = sent.saturating_sub(budget.skew.as_millis() as i64);
    let started = Instant::now();
    let mut bookmark: Option<String> = None;
    let mut seen = 0usize;
    for page_no in 1..=budget.pages.max(1) {
        let page = client
            .board_pins_page(board_id, bookmark.as_deref())
            .await?;
        seen += page.items.len();
        if let Some(pin) = page.items.iter().find(|p| same_pin(p, text)) {
            return Ok(Search::Found(pin.id.clone()));
        }
        // Newest first: once the page's last Pin predates the cutoff, so does everything after.
        let reached = page
            .items
            .last()
            .and_then(created_ms)
            .is_some_and(|t| t < cutoff);
        if reached {
            return Ok(Search::Absent);
        }
        match page.bookmark {
            // A repeated bookmark would loop; an empty page or no bookmark is the board's end.
            Some(next)
                if !next.is_empty()
                    && !page.items.is_empty()
                    && bookmark.as_ref() != Some(&next) =>
            {
                bookmark = Some(next)
            }
            _ => return Ok(Search::Absent),
        }
        if started.elapsed() >= budget.time && page_no < budget.pages {
            return Ok(Search::Undecided(format!(
                "reconcile_time ({}) ran out after {page_no} pages ({seen} Pins) of board {board_id}, \
                 before reaching Pins from before {} (raise [sync] reconcile_time if this repeats)",
                humantime::format_duration(budget.time),
                rfc3339(cutoff),
            )));
        }
    }
    Ok(Search::Undecided(format!(
        "reconcile_pages ({}) ran out ({seen} Pins) on board {board_id} before reaching Pins from before {} \
         (raise [sync] reconcile_pages if this repeats)",
        budget.pages.max(1),
        rfc3339(cutoff),
    )))
}

/// For an `unknown` job, what it waits for and why, in words (items list, status page):
/// `None` for jobs in other states.
pub fn unknown_detail(job: &Job, now: Millis) -> Option<String> {
    let JobState::Unknown { at, .. } = &job.state else {
        return None;
    };
    let next = if *at > now {
        format!(
            "in {}",
            humantime::format_duration(Duration::from_secs(((at - now) / 1000) as u64))
        )
    } else {
        "now".to_string()
    };
    let why = job
        .last_error
        .as_deref()
        .unwrap_or("the create may have been sent");
    Some(format!(
        "outcome unknown, not created again; board {} is checked {next} (Pins since {}): {why}",
        job.target.board,
        rfc3339(job.sent_since()),
    ))
}

/// A Pin's `created_at` in ms since the epoch; `None` when absent or unreadable (then the
/// search goes on: not knowing a Pin's age is no reason to stop looking).
fn created_ms(pin: &Pin) -> Option<Millis> {
    let at = OffsetDateTime::parse(pin.created_at.as_deref()?, &Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as Millis)
}

fn rfc3339(ms: Millis) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// Same link and same title, as far as we set them. With neither, the description decides.
fn same_pin(pin: &Pin, text: &PinText) -> bool {
    let eq = |ours: &Option<String>, theirs: &Option<String>| {
        ours.as_deref().map(str::trim) == theirs.as_deref().map(str::trim)
    };
    if text.link.is_none() && text.title.is_none() {
        return text.description.is_some() && eq(&text.description, &pin.description);
    }
    eq(&text.link, &pin.link) && eq(&text.title, &pin.title)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(created_at: Option<&str>) -> Pin {
        serde_json::from_value(serde_json::json!({"id": "1", "created_at": created_at})).unwrap()
    }

    #[test]
    fn created_at_is_read_as_ms() {
        assert_eq!(
            created_ms(&pin(Some("2026-01-01T00:00:01.5Z"))),
            Some(1_767_225_601_500)
        );
        assert_eq!(created_ms(&pin(Some("yesterday"))), None);
        assert_eq!(created_ms(&pin(None)), None);
        assert_eq!(rfc3339(1_767_225_601_500), "2026-01-01T00:00:01.5Z");
    }
}
