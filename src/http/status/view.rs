//! What the status page shows, read from the store into plain values the template renders.
//!
//! Every read is bounded, whatever the store holds: one state record per configured source and
//! account, the kept counts, the newest finished jobs from their index (at most
//! [`PIN_WINDOW`] done ones, for the charts and the per-source and per-minute figures), and at
//! most [`ITEMS_COUNTED`] items per source.

use serde::Serialize;

use super::history;
use super::when::{self, Moment};
use crate::clock::Millis;
use crate::http::HttpState;
use crate::item::SourceId;
use crate::store::{ItemFilter, Job, JobFilter, JobState};

/// Done jobs read for the Pins-per-hour chart and the recent figures (newest first).
pub const PIN_WINDOW: usize = 1000;
/// Items counted per source; more show as "100+". Read once per configured source on every
/// page view, so kept small: the figure says whether a source yields items, not how many.
pub const ITEMS_COUNTED: usize = 100;
/// Pins and dead letters listed (each listed Pin reads its item and the item's jobs).
const LISTED: usize = 20;
const HOUR_MS: Millis = 3_600_000;
pub const DAY_MS: Millis = 24 * HOUR_MS;

#[derive(Serialize)]
pub struct SourceCard {
    pub id: String,
    pub kind: String,
    /// `ok`, `failing`, `parked` or `paused` (also the card's CSS class).
    pub health: &'static str,
    pub last_poll: Option<Moment>,
    pub next_poll: Option<Moment>,
    pub items_seen: String,
    pub pins_today: u64,
    pub error_count: u32,
    pub last_error: Option<String>,
    pub parked: Option<String>,
}

#[derive(Serialize)]
pub struct AccountCard {
    pub name: String,
    /// `ok` or `attention` (the card's CSS class).
    pub health: &'static str,
    pub token: String,
    pub problem: Option<String>,
    pub minute_writes: u64,
    pub per_minute: Option<u32>,
    pub today: u32,
    pub daily_cap: Option<u32>,
    /// "HH:MM UTC" while a 429 block runs.
    pub blocked_until: Option<String>,
    pub blocked_exact: Option<String>,
}

#[derive(Serialize)]
pub struct PinRow {
    pub pin_id: String,
    /// The item's dedup key: with `source`, the path of its page.
    pub key: String,
    /// What became of the Pin since (none for a create that found another item's Pin).
    pub fate: Option<super::item::Fate>,
    pub url: String,
    pub board: String,
    pub source: String,
    pub title: String,
    pub link: Option<String>,
    pub image: Option<String>,
    pub made: Moment,
}

#[derive(Serialize)]
pub struct DeadRow {
    pub id: String,
    pub board: String,
    pub source: String,
    pub error: String,
    pub failed: Moment,
}

#[derive(Serialize)]
pub struct UnknownRow {
    pub id: String,
    pub board: String,
    pub why: String,
}

#[derive(Serialize)]
pub struct QueueCount {
    pub state: String,
    pub count: u64,
}

/// Everything the signed-in page shows.
#[derive(Serialize)]
pub struct View {
    pub now: String,
    pub sources: Vec<SourceCard>,
    pub accounts: Vec<AccountCard>,
    pub queue: Vec<QueueCount>,
    pub backlog: u64,
    pub items: u64,
    pub retention: super::retention::RetentionLine,
    pub pins: Vec<PinRow>,
    pub dead: Vec<DeadRow>,
    pub unknown: Vec<UnknownRow>,
    /// The done jobs read hit [`PIN_WINDOW`] inside the last day: older hours are undercounted.
    pub window_cut: bool,
    #[serde(skip)]
    pub pins_per_hour: Vec<u64>,
    #[serde(skip)]
    pub backlog_samples: Vec<(Millis, u64)>,
    #[serde(skip)]
    pub now_ms: Millis,
}

fn done_at(job: &Job) -> Option<Millis> {
    match &job.state {
        JobState::Done { at, .. } => Some(*at),
        _ => None,
    }
}

/// Pins made in each of the 24 hours up to `now`, oldest hour first. Only creates count:
/// an update or delete job is done with the Pin it followed, but made no new Pin.
pub fn per_hour(done: &[Job], now: Millis) -> Vec<u64> {
    let mut hours = vec![0u64; 24];
    for at in done
        .iter()
        .filter(|j| j.kind.is_create())
        .filter_map(done_at)
    {
        let age = now.saturating_sub(at);
        if (0..DAY_MS).contains(&age) {
            hours[23 - (age / HOUR_MS) as usize] += 1;
        }
    }
    hours
}

pub async fn build(state: &HttpState) -> View {
    let now = state.clock.now_ms();
    let store = &state.store;
    let stats = store.stats().await.unwrap_or_default();
    let backlog = history::backlog(&stats);
    state.backlog.record(now, backlog);
    let done = store
        .recent_jobs("done", PIN_WINDOW)
        .await
        .unwrap_or_default();
    let window_cut = done.len() >= PIN_WINDOW
        && done
            .last()
            .and_then(done_at)
            .is_some_and(|at| now - at < DAY_MS);
    let today: Vec<&Job> = done
        .iter()
        .filter(|job| done_at(job).is_some_and(|at| now - at < DAY_MS))
        .collect();

    let mut sources = Vec::new();
    for source in state.source_list().iter() {
        let id = SourceId::new(&source.id);
        let polled = store.source_state(&id).await.unwrap_or_default();
        let filter = ItemFilter {
            source: Some(id.clone()),
            limit: ITEMS_COUNTED + 1,
        };
        let seen = store.items(filter).await.map(|i| i.len()).unwrap_or(0);
        sources.push(SourceCard {
            id: source.id.clone(),
            kind: source.kind.clone(),
            health: source.health(&polled),
            last_poll: polled.last_poll.map(|at| Moment::new(at, now)),
            next_poll: polled.next_poll.map(|at| Moment::new(at, now)),
            items_seen: if seen > ITEMS_COUNTED {
                format!("{ITEMS_COUNTED}+")
            } else {
                seen.to_string()
            },
            pins_today: today
                .iter()
                .filter(|j| j.source == id && j.kind.is_create())
                .count() as u64,
            error_count: polled.error_count,
            last_error: polled.last_error.as_deref().map(crate::redact::error),
            parked: polled.parked.as_deref().map(crate::redact::error),
        });
    }

    let mut accounts = Vec::new();
    for name in state.accounts.iter() {
        accounts.push(account_card(state, name, &today, now).await);
    }

    let mut pins = Vec::new();
    for job in done.iter().filter(|j| j.kind.is_create()).take(LISTED) {
        let (Some(at), JobState::Done { pin_id, .. }) = (done_at(job), &job.state) else {
            continue;
        };
        let item = store.item(&job.source, &job.item).await.ok().flatten();
        let item = item.map(|stored| stored.item);
        pins.push(PinRow {
            pin_id: pin_id.clone(),
            key: job.item.to_string(),
            fate: super::item::fate_of(state, job, now).await,
            url: format!("https://www.pinterest.com/pin/{pin_id}/"),
            board: job.target.board.clone(),
            source: job.source.to_string(),
            title: item.as_ref().map(|i| i.title.clone()).unwrap_or_default(),
            link: item.as_ref().and_then(|i| i.link.clone()),
            image: item.and_then(|i| i.image_url),
            made: Moment::new(at, now),
        });
    }

    let dead = store
        .recent_jobs("dead", LISTED)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|job| match &job.state {
            JobState::Dead { error, at } => Some(DeadRow {
                id: job.id.0.clone(),
                board: job.target.board.clone(),
                source: job.source.to_string(),
                error: crate::redact::text(error),
                failed: Moment::new(*at, now),
            }),
            _ => None,
        })
        .collect();

    View {
        now: when::utc(now),
        sources,
        accounts,
        queue: stats
            .jobs_by_state
            .iter()
            .map(|(state, count)| QueueCount {
                state: state.clone(),
                count: *count,
            })
            .collect(),
        backlog,
        items: stats.items,
        retention: state.retention.line(now),
        pins_per_hour: per_hour(&done, now),
        pins,
        dead,
        unknown: unknown_rows(state, &stats, now).await,
        window_cut,
        backlog_samples: state.backlog.samples(),
        now_ms: now,
    }
}

async fn account_card(state: &HttpState, name: &str, today: &[&Job], now: Millis) -> AccountCard {
    let (record, read_problem) = match state.store.account_state(name).await {
        Ok(record) => (record, None),
        Err(e) => (Default::default(), Some(format!("store: {e}"))),
    };
    let quota = state.store.account_quota(name).await.unwrap_or_default();
    let problem = read_problem.or_else(|| crate::http::health::account_problem(&record, now));
    let limits = state.account_limits.get(name).copied();
    let blocked = record
        .blocked_until
        .max(quota.blocked_until)
        .filter(|until| *until > now);
    let day = when::utc_day(now);
    let count_of = |d: Option<i64>, n: u32| if d == Some(day) { n } else { 0 };
    let token = if problem.is_some() {
        "needs attention"
    } else if record.tokens.is_some() {
        "stored (refreshed by pinbridge)"
    } else if limits.is_some_and(|l| l.configured_token) {
        "from the configuration"
    } else {
        "none: connect the account"
    };
    AccountCard {
        name: name.to_string(),
        health: if problem.is_some() || blocked.is_some() {
            "attention"
        } else {
            "ok"
        },
        token: token.into(),
        problem: problem.as_deref().map(crate::redact::text),
        minute_writes: today
            .iter()
            .filter(|j| j.target.account == name)
            .filter(|j| done_at(j).is_some_and(|at| now - at < 60_000))
            .count() as u64,
        per_minute: limits.map(|l| l.writes_per_minute),
        today: count_of(record.day, record.day_pins).max(count_of(quota.day, quota.day_pins)),
        daily_cap: limits.map(|l| l.daily_cap),
        blocked_until: blocked.map(|until| when::clock_time(until, now)),
        blocked_exact: blocked.map(when::utc),
    }
}

/// Creates whose outcome is unknown, never repeated until a reconcile finds the board's Pins
/// since the send: listed (a job read) only when the kept counts say there are some.
async fn unknown_rows(
    state: &HttpState,
    stats: &crate::store::StoreStats,
    now: Millis,
) -> Vec<UnknownRow> {
    if stats.jobs_by_state.get("unknown").copied().unwrap_or(0) == 0 {
        return Vec::new();
    }
    let filter = JobFilter {
        state: Some("unknown".into()),
        limit: LISTED,
        ..JobFilter::default()
    };
    let jobs = state.store.jobs(filter).await.unwrap_or_default();
    jobs.iter()
        .map(|job| UnknownRow {
            id: job.id.0.clone(),
            board: job.target.board.clone(),
            why: crate::redact::text(
                &crate::sync::reconcile::unknown_detail(job, now).unwrap_or_default(),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_fall_into_the_hour_they_were_made_and_older_ones_are_left_out() {
        let now = 100 * DAY_MS;
        let job = |at: Millis| Job {
            id: crate::store::JobId("j".into()),
            source: SourceId::new("s"),
            item: crate::item::DedupKey::new("guid", "k"),
            target: crate::store::Target {
                route: "r".into(),
                account: "a".into(),
                board: "b".into(),
                section: None,
            },
            state: JobState::Done {
                pin_id: "p".into(),
                at,
            },
            attempts: 0,
            last_error: None,
            created: 0,
            updated: 0,
            create_sent: None,
            kind: crate::store::JobKind::Create,
        };
        let done = [
            job(now),
            job(now - 1),
            job(now - HOUR_MS - 1),
            job(now - DAY_MS + 1),
            job(now - DAY_MS),
        ];
        let hours = per_hour(&done, now);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[23], 2, "this hour");
        assert_eq!(hours[22], 1, "the hour before");
        assert_eq!(hours[0], 1, "the oldest hour");
        assert_eq!(hours.iter().sum::<u64>(), 4, "a day old is out");
    }
}
