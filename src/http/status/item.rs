//! What became of one item's Pins, for the status page: the fate of each recent Pin (one
//! `item_jobs` read per listed Pin, and the list is short) and the per-item page at
//! `/ui/items/{source}/{key}` with every Pin the item's jobs made or adopted and their events.

use serde::Serialize;

use super::when::Moment;
use crate::clock::Millis;
use crate::http::HttpState;
use crate::item::{DedupKey, SourceId};
use crate::store::{Job, PinFate, StoreResult, pins_of};

/// A Pin's fate as the page shows it: `created`, `updated`, `deleted` or `adopted` (also its
/// badge's CSS class), and when it got there.
#[derive(Serialize)]
pub struct Fate {
    pub name: String,
    pub at: Moment,
}

impl Fate {
    fn of(pin: &PinFate, now: Millis) -> Self {
        Fate {
            name: pin.fate.clone(),
            at: Moment::new(pin.at, now),
        }
    }
}

/// The fate of the Pin the done create `job` made or adopted, read from its item's jobs.
/// None for a create that finished on another item's Pin, or when the store cannot answer
/// (the page still shows the Pin).
pub async fn fate_of(state: &HttpState, job: &Job, now: Millis) -> Option<Fate> {
    let jobs = state.store.item_jobs(&job.source, &job.item).await.ok()?;
    pins_of(&jobs)
        .iter()
        .find(|pin| pin.made_by == job.id)
        .map(|pin| Fate::of(pin, now))
}

#[derive(Serialize)]
pub struct EventRow {
    pub job: String,
    pub kind: String,
    pub state: String,
    pub at: Moment,
    pub note: Option<String>,
}

#[derive(Serialize)]
pub struct PinCard {
    pub pin_id: String,
    /// The Pin on Pinterest; none once it was deleted.
    pub url: Option<String>,
    pub route: String,
    pub account: String,
    pub board: String,
    pub made_by: String,
    pub fate: Fate,
    pub events: Vec<EventRow>,
}

/// Everything the per-item page shows.
#[derive(Serialize)]
pub struct ItemPage {
    pub now: String,
    pub source: String,
    pub key: String,
    pub title: String,
    pub link: Option<String>,
    pub image: Option<String>,
    /// When retention dropped the payload (the title, link and image are gone then).
    pub compacted: Option<Moment>,
    pub first_seen: Moment,
    pub last_seen: Moment,
    pub pins: Vec<PinCard>,
}

/// The page of item `key` of `source`; None for an item the store does not hold.
pub async fn build(state: &HttpState, source: &str, key: &str) -> StoreResult<Option<ItemPage>> {
    let now = state.clock.now_ms();
    let (source, key) = (SourceId::new(source), DedupKey(key.to_string()));
    let Some(stored) = state.store.item(&source, &key).await? else {
        return Ok(None);
    };
    let jobs = state.store.item_jobs(&source, &key).await?;
    let pins = pins_of(&jobs)
        .iter()
        .map(|pin| PinCard {
            pin_id: pin.pin_id.clone(),
            url: (pin.fate != "deleted")
                .then(|| format!("https://www.pinterest.com/pin/{}/", pin.pin_id)),
            route: pin.route.clone(),
            account: pin.account.clone(),
            board: pin.board.clone(),
            made_by: pin.made_by.0.clone(),
            fate: Fate::of(pin, now),
            events: pin
                .events
                .iter()
                .map(|event| EventRow {
                    job: event.job.0.clone(),
                    kind: event.kind.clone(),
                    state: event.state.clone(),
                    at: Moment::new(event.at, now),
                    note: event.note.as_deref().map(crate::redact::text),
                })
                .collect(),
        })
        .collect();
    Ok(Some(ItemPage {
        now: super::when::utc(now),
        source: source.to_string(),
        key: key.to_string(),
        title: stored.item.title,
        link: stored.item.link,
        image: stored.item.image_url,
        compacted: stored.compacted.map(|at| Moment::new(at, now)),
        first_seen: Moment::new(stored.first_seen, now),
        last_seen: Moment::new(stored.last_seen, now),
        pins,
    }))
}
