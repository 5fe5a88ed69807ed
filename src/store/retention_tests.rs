use std::collections::BTreeMap;

use super::*;
use crate::item::{DedupKey, SourceId};
use crate::store::follow::{ADOPTED, NOTE_UPDATED, adopted_pin, made_pin};
use crate::store::{ItemDisposition, JobId, LeaseToken, RemovedMark, Target, pins_of};

const HORIZON: Millis = 1_000;

fn stored(last_seen: Millis) -> StoredItem {
    let mut item = Item::new(SourceId::new("shop"), DedupKey::new("id", "1"));
    item.title = "A chair".into();
    item.description = "Oak".into();
    item.link = Some("https://shop.example/chair".into());
    item.image_url = Some("https://shop.example/chair.jpg".into());
    item.updated_ms = Some(42);
    item.published_ms = Some(41);
    item.categories = vec!["furniture".into()];
    item.fields = BTreeMap::from([("price".into(), "10".into())]);
    StoredItem {
        fingerprint: item.fingerprint(),
        item,
        first_seen: 10,
        last_seen,
        changes: 2,
        disposition: ItemDisposition::Queued,
        removed: Some(RemovedMark {
            at: 20,
            routes: vec!["r".into()],
        }),
        compacted: None,
    }
}

fn job(id: &str, kind: JobKind, state: JobState, note: Option<&str>) -> Job {
    Job {
        id: JobId(id.into()),
        source: SourceId::new("shop"),
        item: DedupKey::new("id", "1"),
        target: Target {
            route: "r".into(),
            account: "main".into(),
            board: "b".into(),
            section: None,
        },
        state,
        attempts: 1,
        last_error: note.map(str::to_string),
        created: 1,
        updated: 2,
        create_sent: Some(1),
        kind,
    }
}

fn done(at: Millis) -> JobState {
    JobState::Done {
        pin_id: "p1".into(),
        at,
    }
}

#[test]
fn an_old_item_keeps_what_dedup_and_tracking_need_and_drops_its_payload() {
    let before = stored(500);
    let jobs = [job("j1", JobKind::Create, done(600), None)];
    let after = compact_item(&before, &jobs, HORIZON, 2_000).expect("compacted");
    assert_eq!(after.compacted, Some(2_000));
    assert_eq!(after.fingerprint, before.fingerprint);
    assert_eq!(
        (after.first_seen, after.last_seen, after.changes),
        (10, 500, 2)
    );
    assert_eq!(after.disposition, before.disposition);
    assert_eq!(after.removed, before.removed);
    assert_eq!(
        (&after.item.source, &after.item.key),
        (&before.item.source, &before.item.key)
    );
    // An out-of-order older delivery must still lose against it.
    assert_eq!(after.item.updated_ms, Some(42));
    let mut empty = Item::new(before.item.source.clone(), before.item.key.clone());
    empty.updated_ms = Some(42);
    assert_eq!(after.item, empty);
}

#[test]
fn recent_or_already_compacted_items_are_left_alone() {
    assert_eq!(compact_item(&stored(HORIZON), &[], HORIZON, 2_000), None);
    let mut once = stored(500);
    once.compacted = Some(900);
    assert_eq!(compact_item(&once, &[], HORIZON, 2_000), None);
    assert!(compact_item(&stored(500), &[], HORIZON, 2_000).is_some());
}

#[test]
fn an_item_whose_jobs_may_still_render_it_keeps_its_payload() {
    let lease = JobState::Leased {
        token: LeaseToken(1),
        until: 9,
        reconcile: false,
    };
    let dead = JobState::Dead {
        error: "board gone".into(),
        at: 3,
    };
    for (state, kind) in [
        (JobState::Pending { run_at: 1 }, JobKind::Create),
        (lease, JobKind::Create),
        (JobState::Retry { at: 5 }, JobKind::Create),
        (JobState::Unknown { since: 1, at: 5 }, JobKind::Create),
        (dead.clone(), JobKind::Create),
        (
            dead.clone(),
            JobKind::Update {
                of: JobId("j0".into()),
                pin_id: "p1".into(),
            },
        ),
    ] {
        let jobs = [
            job("j0", JobKind::Create, done(600), None),
            job("j1", kind, state.clone(), None),
        ];
        assert_eq!(
            compact_item(&stored(500), &jobs, HORIZON, 2_000),
            None,
            "{state:?}"
        );
    }
    // A dead delete needs no payload: it only names a Pin.
    let delete = JobKind::Delete {
        of: JobId("j0".into()),
        pin_id: Some("p1".into()),
    };
    let jobs = [job("j1", delete, dead, None)];
    assert!(compact_item(&stored(500), &jobs, HORIZON, 2_000).is_some());
}

#[test]
fn a_done_create_loses_only_a_leftover_error_and_only_after_the_horizon() {
    let stale = job("j1", JobKind::Create, done(500), Some("502 from Pinterest"));
    let cut = compact_job(&stale, HORIZON).expect("compacted");
    assert_eq!(cut.last_error, None);
    assert_eq!(
        (&cut.id, &cut.target, &cut.state, &cut.kind, cut.created),
        (&stale.id, &stale.target, &stale.state, &stale.kind, 1)
    );
    let recent = job("j1", JobKind::Create, done(HORIZON), Some("502"));
    assert_eq!(compact_job(&recent, HORIZON), None);
    // Nothing to drop: no write.
    assert_eq!(
        compact_job(&job("j1", JobKind::Create, done(500), None), HORIZON),
        None
    );
    let dead = JobState::Dead {
        error: "board gone".into(),
        at: 3,
    };
    assert_eq!(
        compact_job(&job("j1", JobKind::Create, dead, Some("x")), HORIZON),
        None
    );
}

#[test]
fn notes_that_say_what_a_job_did_survive_so_pin_tracking_reads_the_same() {
    let duplicate = format!("duplicate of job j0 on this board; {NO_SECOND_PIN}");
    let adopted = format!("{ADOPTED} pin p9 already on the board; {NO_SECOND_PIN}");
    let update = JobKind::Update {
        of: JobId("j0".into()),
        pin_id: "p1".into(),
    };
    let jobs = vec![
        job("j0", JobKind::Create, done(500), Some("timeout; retried")),
        job("j1", JobKind::Create, done(500), Some(&duplicate)),
        job("j2", JobKind::Create, done(500), Some(&adopted)),
        job("j3", update, done(500), Some(NOTE_UPDATED)),
    ];
    let cut: Vec<Job> = jobs
        .iter()
        .map(|j| compact_job(j, HORIZON).unwrap_or_else(|| j.clone()))
        .collect();
    assert_eq!(cut[0].last_error, None);
    for (before, after) in jobs.iter().zip(&cut) {
        assert_eq!(made_pin(before), made_pin(after), "{}", before.id);
        assert_eq!(adopted_pin(before), adopted_pin(after), "{}", before.id);
    }
    assert_eq!(pins_of(&jobs), pins_of(&cut));
}
