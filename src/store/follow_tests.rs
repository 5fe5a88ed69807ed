//! Unit tests of the follow rules (which updates and deletes an item's change or removal
//! queues), without a backend.

use super::*;
use crate::item::{DedupKey, SourceId};
use crate::store::Target;

fn job(id: &str, route: &str, state: JobState) -> Job {
    Job {
        id: JobId(id.into()),
        source: SourceId::new("s"),
        item: DedupKey("k".into()),
        target: Target {
            route: route.into(),
            account: "a".into(),
            board: "b".into(),
            section: None,
        },
        state,
        attempts: 0,
        last_error: None,
        created: 1,
        updated: 1,
        create_sent: None,
        kind: JobKind::Create,
    }
}

fn done(id: &str, pin: &str) -> Job {
    job(
        id,
        "r",
        JobState::Done {
            pin_id: pin.into(),
            at: 5,
        },
    )
}

fn ids() -> Vec<JobId> {
    (0..8).map(|n| JobId(format!("new{n}"))).collect()
}

fn routes() -> Vec<String> {
    vec!["r".to_string()]
}

#[test]
fn a_removal_queues_a_delete_of_the_pin_the_create_made() {
    let steps = removal(&[done("c1", "77")], &routes(), &ids(), 9);
    let [Removal::Queue(delete)] = steps.as_slice() else {
        panic!("{steps:?}")
    };
    assert_eq!(
        delete.kind,
        JobKind::Delete {
            of: JobId("c1".into()),
            pin_id: Some("77".into())
        }
    );
    assert_eq!(delete.state, JobState::Pending { run_at: 9 });
    assert_eq!(delete.target.route, "r");
}

#[test]
fn a_removal_touches_no_pin_pinbridge_did_not_make_and_no_other_route() {
    let mut duplicate = done("c1", "77");
    duplicate.last_error = Some(format!("same link already pinned; {NO_SECOND_PIN}"));
    let dead = job(
        "c2",
        "r",
        JobState::Dead {
            error: "400".into(),
            at: 3,
        },
    );
    let mut elsewhere = done("c3", "78");
    elsewhere.target.route = "keep".into();
    assert_eq!(
        removal(&[duplicate, dead, elsewhere], &routes(), &ids(), 9),
        vec![]
    );
}

#[test]
fn a_removal_cancels_an_unsent_create_and_waits_for_one_in_flight() {
    let pending = job("c1", "r", JobState::Pending { run_at: 1 });
    let mut sent = job("c2", "r", JobState::Retry { at: 4 });
    sent.create_sent = Some(3);
    let steps = removal(&[pending, sent], &routes(), &ids(), 9);
    let [Removal::Cancel(cancelled), Removal::Queue(delete)] = steps.as_slice() else {
        panic!("{steps:?}")
    };
    assert_eq!(cancelled.id.0, "c1");
    assert!(matches!(cancelled.state, JobState::Dead { .. }));
    assert_eq!(cancelled.last_error.as_deref(), Some(CANCELLED_BY_REMOVAL));
    assert_eq!(
        delete.kind,
        JobKind::Delete {
            of: JobId("c2".into()),
            pin_id: None
        }
    );
}

#[test]
fn a_removal_seen_twice_queues_one_delete() {
    let first = removal(&[done("c1", "77")], &routes(), &ids(), 9);
    let Removal::Queue(delete) = first[0].clone() else {
        panic!()
    };
    assert_eq!(
        removal(&[done("c1", "77"), delete], &routes(), &ids(), 10),
        vec![]
    );
}

#[test]
fn a_change_queues_one_update_per_pin_made_and_none_while_one_waits() {
    let jobs = [
        done("c1", "77"),
        job("c2", "r", JobState::Pending { run_at: 1 }),
    ];
    let queued = updates(&jobs, &routes(), &ids(), 9);
    assert_eq!(queued.len(), 1, "only the create that made a Pin");
    assert_eq!(
        queued[0].kind,
        JobKind::Update {
            of: JobId("c1".into()),
            pin_id: "77".into()
        }
    );
    let mut again = jobs.to_vec();
    again.push(queued[0].clone());
    assert_eq!(
        updates(&again, &routes(), &ids(), 10),
        vec![],
        "one still waits"
    );
    let mut deleting = vec![done("c1", "77")];
    if let Removal::Queue(d) = removal(&deleting, &routes(), &ids(), 9).remove(0) {
        deleting.push(d);
    }
    assert_eq!(
        updates(&deleting, &routes(), &ids(), 10),
        vec![],
        "being deleted"
    );
    assert_eq!(updates(&jobs, &[], &ids(), 9), vec![], "no route updates");
}

#[test]
fn a_delete_without_a_pin_id_follows_its_create() {
    let kind = JobKind::Delete {
        of: JobId("c1".into()),
        pin_id: None,
    };
    let running = job("c1", "r", JobState::Unknown { since: 1, at: 2 });
    assert_eq!(delete_target(&kind, Some(&running)), DeleteTarget::Wait);
    assert_eq!(
        delete_target(&kind, Some(&done("c1", "77"))),
        DeleteTarget::Pin("77".into())
    );
    let dead = job(
        "c1",
        "r",
        JobState::Dead {
            error: "x".into(),
            at: 3,
        },
    );
    assert_eq!(delete_target(&kind, Some(&dead)), DeleteTarget::Nothing);
    assert_eq!(delete_target(&kind, None), DeleteTarget::Nothing);
}
