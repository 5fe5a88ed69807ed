//! New Pins to watch: the account's done jobs that made a Pin (`store::follow::made_pin`: not
//! a duplicate of another job's Pin), newest first, with the item's attribution.
//!
//! `Outbox::recent_jobs` reads the newest finished jobs of every account from an index; the
//! page is doubled until it reaches back past the newest Pin already watched (or past
//! `lookback`), so Pins made between two runs are never missed however many there were.

use std::collections::HashSet;

use crate::store::{JobState, Millis, PinWatch, Store, StoreResult, follow};

const FIRST_PAGE: usize = 500;
/// Replicas' clocks may disagree a little: jobs finished this much before the newest Pin
/// watched are looked at again (the ones already watched are skipped).
const CLOCK_SKEW_MS: i64 = 3_600_000;
/// The most finished jobs read in one discovery.
const MAX_PAGE: usize = 200_000;

/// Watch the account's Pins made since the newest one watched (at most `lookback_ms` back).
/// Returns how many were new.
pub(crate) async fn discover(
    store: &dyn Store,
    account: &str,
    now: Millis,
    lookback_ms: i64,
) -> StoreResult<usize> {
    let watched = store.pin_watches(account).await?;
    let known: HashSet<&str> = watched.iter().map(|w| w.pin_id.as_str()).collect();
    let since = watched
        .iter()
        .map(|w| w.made_at)
        .max()
        .map_or(now - lookback_ms, |newest| newest - CLOCK_SKEW_MS)
        .max(now - lookback_ms);
    let mut limit = FIRST_PAGE;
    let jobs = loop {
        let jobs = store.recent_jobs("done", limit).await?;
        let reached = jobs.len() < limit
            || jobs.last().is_some_and(|j| done_at(&j.state) < since)
            || limit >= MAX_PAGE;
        if reached {
            break jobs;
        }
        limit = (limit * 2).min(MAX_PAGE);
    };
    let mut new = Vec::new();
    for job in &jobs {
        let made_at = done_at(&job.state);
        if job.target.account != account || made_at < since {
            continue;
        }
        let Some(pin_id) = follow::made_pin(job) else {
            continue;
        };
        if known.contains(pin_id) || new.iter().any(|w: &PinWatch| w.pin_id == pin_id) {
            continue;
        }
        let categories = store
            .item(&job.source, &job.item)
            .await?
            .map(|stored| stored.item.categories)
            .unwrap_or_default();
        new.push(PinWatch {
            pin_id: pin_id.to_string(),
            account: account.to_string(),
            source: job.source.clone(),
            item: job.item.clone(),
            route: job.target.route.clone(),
            board: job.target.board.clone(),
            categories,
            made_at,
            fetched_at: None,
            fetched_through: None,
        });
    }
    if new.is_empty() {
        return Ok(0);
    }
    store.watch_pins(&new).await
}

fn done_at(state: &JobState) -> Millis {
    match state {
        JobState::Done { at, .. } => *at,
        _ => Millis::MIN,
    }
}
