//! What became of an item's Pins, read from its jobs: for each Pin pinbridge made, where it
//! is, which job made it, and every update or delete that followed, with the Pin's fate now;
//! and each Pin a create adopted (already on its board with the item's link), which nothing
//! follows. The admin API and the status page show it per item.

use serde::{Deserialize, Serialize};

use super::follow::{NOTE_DELETED_ON_PINTEREST, NOTE_UPDATED, adopted_pin, made_pin};
use super::{Job, JobId, JobKind, JobState, Millis};

/// One Pin pinbridge made for an item, or adopted for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinFate {
    pub pin_id: String,
    pub route: String,
    pub account: String,
    pub board: String,
    /// The job that made it (or adopted it).
    #[schema(value_type = String)]
    pub made_by: JobId,
    /// `created`, `updated` or `deleted` (also when it was found gone on Pinterest) for a Pin
    /// pinbridge made; `adopted` for a Pin that was on the board with the item's link before
    /// pinbridge pinned to it: pinbridge never updates or deletes that one.
    #[schema(example = "created")]
    pub fate: String,
    /// When the Pin was made or adopted, or, if any, when its newest event last changed
    /// (milliseconds since the Unix epoch).
    #[schema(value_type = i64)]
    pub at: Millis,
    /// The update and delete jobs that followed it, oldest first (none for an adopted Pin).
    pub events: Vec<PinEvent>,
}

/// An update or delete job of a Pin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PinEvent {
    #[schema(value_type = String)]
    pub job: JobId,
    /// `update` or `delete`.
    pub kind: String,
    /// The job's state name (`pending`, `done`, `dead`, …).
    pub state: String,
    /// Milliseconds since the Unix epoch.
    #[schema(value_type = i64)]
    pub at: Millis,
    /// What happened (the job's note or last error).
    pub note: Option<String>,
}

/// When a done job finished, else when it last changed.
fn finished_at(job: &Job) -> Millis {
    match &job.state {
        JobState::Done { at, .. } => *at,
        _ => job.updated,
    }
}

impl PinFate {
    /// The Pin `pin_id` that the job `maker` made or adopted, on that job's target.
    fn on_target_of(
        maker: &Job,
        pin_id: &str,
        fate: &str,
        at: Millis,
        events: Vec<PinEvent>,
    ) -> Self {
        PinFate {
            pin_id: pin_id.to_string(),
            route: maker.target.route.clone(),
            account: maker.target.account.clone(),
            board: maker.target.board.clone(),
            made_by: maker.id.clone(),
            fate: fate.to_string(),
            at,
            events,
        }
    }
}

/// The Pins an item's jobs made or adopted, in the order of their jobs.
pub fn pins_of(jobs: &[Job]) -> Vec<PinFate> {
    let mut out = Vec::new();
    for maker in jobs {
        if let Some(pin_id) = adopted_pin(maker) {
            out.push(PinFate::on_target_of(
                maker,
                pin_id,
                "adopted",
                finished_at(maker),
                Vec::new(),
            ));
            continue;
        }
        let Some(pin_id) = made_pin(maker) else {
            continue;
        };
        let mut fate = "created";
        let mut events = Vec::new();
        for job in jobs.iter().filter(|j| follows(j, &maker.id, pin_id)) {
            let done = matches!(job.state, JobState::Done { .. });
            let note = job.last_error.clone();
            match &job.kind {
                JobKind::Delete { .. } if done => fate = "deleted",
                JobKind::Update { .. }
                    if done && fate != "deleted" && note.as_deref() == Some(NOTE_UPDATED) =>
                {
                    fate = "updated"
                }
                JobKind::Update { .. }
                    if done && note.as_deref() == Some(NOTE_DELETED_ON_PINTEREST) =>
                {
                    fate = "deleted"
                }
                _ => {}
            }
            events.push(PinEvent {
                job: job.id.clone(),
                kind: job.kind.name().to_string(),
                state: job.state.name().to_string(),
                at: job.updated,
                note,
            });
        }
        let at = events.last().map_or(finished_at(maker), |e| e.at);
        out.push(PinFate::on_target_of(maker, pin_id, fate, at, events));
    }
    out
}

/// `job` is an update or delete of the Pin `pin_id` made by `maker`. An update that made a
/// new Pin instead (its route's fallback) is listed as that new Pin's maker.
fn follows(job: &Job, maker: &JobId, pin_id: &str) -> bool {
    match &job.kind {
        JobKind::Update { of, .. } => of == maker && made_pin(job).is_none(),
        JobKind::Delete { of, pin_id: p } => {
            of == maker && p.as_deref().is_none_or(|p| p == pin_id)
        }
        JobKind::Create => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{DedupKey, SourceId};
    use crate::store::Target;
    use crate::store::follow::{ADOPTED, NO_SECOND_PIN, NOTE_DELETED};

    fn job(id: &str, kind: JobKind, state: JobState, note: Option<&str>) -> Job {
        Job {
            id: JobId(id.into()),
            source: SourceId::new("s"),
            item: DedupKey("k".into()),
            target: Target {
                route: "r".into(),
                account: "a".into(),
                board: "b".into(),
                section: None,
            },
            state,
            attempts: 0,
            last_error: note.map(str::to_string),
            created: 1,
            updated: 2,
            create_sent: None,
            kind,
        }
    }

    fn done(pin: &str) -> JobState {
        JobState::Done {
            pin_id: pin.into(),
            at: 2,
        }
    }

    #[test]
    fn a_pin_is_created_then_updated_then_deleted() {
        let create = job("c", JobKind::Create, done("77"), None);
        assert_eq!(pins_of(std::slice::from_ref(&create))[0].fate, "created");
        let update = job(
            "u",
            JobKind::Update {
                of: JobId("c".into()),
                pin_id: "77".into(),
            },
            done("77"),
            Some(NOTE_UPDATED),
        );
        let jobs = vec![create.clone(), update.clone()];
        let pins = pins_of(&jobs);
        assert_eq!(
            (pins[0].fate.as_str(), pins[0].events.len()),
            ("updated", 1)
        );
        let delete = job(
            "d",
            JobKind::Delete {
                of: JobId("c".into()),
                pin_id: Some("77".into()),
            },
            done("77"),
            Some(NOTE_DELETED),
        );
        let pins = pins_of(&[create, update, delete]);
        assert_eq!(pins.len(), 1);
        assert_eq!(pins[0].pin_id, "77");
        assert_eq!(pins[0].fate, "deleted");
        assert_eq!(pins[0].events[1].kind, "delete");
    }

    #[test]
    fn a_waiting_delete_is_an_event_but_not_yet_the_fate() {
        let create = job("c", JobKind::Create, done("77"), None);
        let delete = job(
            "d",
            JobKind::Delete {
                of: JobId("c".into()),
                pin_id: None,
            },
            JobState::Pending { run_at: 3 },
            None,
        );
        let pins = pins_of(&[create, delete]);
        assert_eq!(pins[0].fate, "created");
        assert_eq!(pins[0].events[0].state, "pending");
    }

    #[test]
    fn an_adopted_pin_is_listed_as_adopted_and_nothing_follows_it() {
        let note = format!("{ADOPTED} the board had Pin 55; {NO_SECOND_PIN}");
        let adopted = job("c", JobKind::Create, done("55"), Some(&note));
        let pins = pins_of(std::slice::from_ref(&adopted));
        assert_eq!(pins.len(), 1);
        assert_eq!(
            (pins[0].pin_id.as_str(), pins[0].fate.as_str()),
            ("55", "adopted")
        );
        assert_eq!((pins[0].made_by.0.as_str(), pins[0].at), ("c", 2));
        assert!(pins[0].events.is_empty());

        // A change or a removal of the item queues no update or delete of it.
        let routes = ["r".to_string()];
        let ids = [JobId("x".into())];
        let follow = |jobs: &[Job]| {
            (
                crate::store::follow::updates(jobs, &routes, &ids, 5),
                crate::store::follow::removal(jobs, &routes, &ids, 5),
            )
        };
        let (updates, removal) = follow(std::slice::from_ref(&adopted));
        assert!(updates.is_empty() && removal.is_empty());
        assert_eq!(made_pin(&adopted), None);
    }

    #[test]
    fn a_duplicate_of_another_items_pin_is_neither_made_nor_adopted() {
        let note =
            format!("same link already pinned on this board by s/o (Pin 9); {NO_SECOND_PIN}");
        let duplicate = job("c", JobKind::Create, done("9"), Some(&note));
        assert!(pins_of(&[duplicate]).is_empty());
    }

    #[test]
    fn a_pins_time_is_its_newest_events() {
        let create = job("c", JobKind::Create, done("77"), None);
        let mut update = job(
            "u",
            JobKind::Update {
                of: JobId("c".into()),
                pin_id: "77".into(),
            },
            JobState::Done {
                pin_id: "77".into(),
                at: 9,
            },
            Some(NOTE_UPDATED),
        );
        update.updated = 9;
        assert_eq!(pins_of(std::slice::from_ref(&create))[0].at, 2);
        assert_eq!(pins_of(&[create, update])[0].at, 9);
    }
}
