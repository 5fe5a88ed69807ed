//! Pins following their item when Pinterest does not play along, end to end against the
//! sandbox: a Pin the user deleted on Pinterest is recorded and never made again (and deleting
//! it later is done, not dead), and an app that may not update Pins gets its route's
//! `update_fallback`.

use std::time::{Duration, Instant};

use pinbridge::pinterest::sandbox::Faults;
use pinbridge::store::follow::{NOTE_ALREADY_GONE, NOTE_DELETED_ON_PINTEREST};
use serde_json::Value;

use crate::support::binary::DEADLINE;
use crate::sync_follow::{Run, deliver, item, pinned, product, wait_pins};

/// Wait until product 1's item shows a finished job of `kind` (`update` or `delete`).
async fn finished_job(run: &Run, kind: &str) -> Value {
    let start = Instant::now();
    loop {
        let item = item(&run.base).await;
        let found = item["jobs"].as_array().unwrap().iter().find(|j| {
            j["kind"]["op"] == kind && matches!(j["state"]["state"].as_str(), Some("done" | "dead"))
        });
        if let Some(job) = found {
            return job.clone();
        }
        assert!(start.elapsed() < DEADLINE, "no finished {kind} job: {item}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(mut run: Run) {
    run.child.kill().unwrap();
    run.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_deleted_on_pinterest_is_never_made_again_and_deleting_it_is_done() {
    let run = pinned(r#"on_delete = "delete""#).await;
    let pin_id = run.sandbox.pins()[0].id.clone();
    let gone = reqwest::Client::new()
        .delete(format!("{}pins/{pin_id}", run.api))
        .bearer_auth(&run.token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204, "the user deletes the Pin on Pinterest");

    let renamed = product(1, "Blue mug, large", "2026-11-21T10:00:00-05:00");
    deliver(&run.base, "products/update", "d-2", renamed).await;
    let update = finished_job(&run, "update").await;
    assert_eq!(update["state"]["state"], "done", "{update}");
    assert_eq!(update["last_error"], NOTE_DELETED_ON_PINTEREST);
    assert!(run.sandbox.pins().is_empty(), "no Pin was made again");
    assert_eq!(item(&run.base).await["pins"][0]["fate"], "deleted");

    deliver(&run.base, "products/delete", "d-3", r#"{"id":1}"#.into()).await;
    let delete = finished_job(&run, "delete").await;
    assert_eq!(
        delete["state"]["state"], "done",
        "404 on a delete is done: {delete}"
    );
    assert_eq!(delete["last_error"], NOTE_ALREADY_GONE);
    stop(run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_may_not_update_keeps_the_pin_under_fallback_ignore() {
    let run = pinned("").await;
    run.sandbox.set_faults(Faults {
        update_unavailable: true,
        ..Faults::default()
    });
    let renamed = product(1, "Blue mug, large", "2026-11-21T10:00:00-05:00");
    deliver(&run.base, "products/update", "d-2", renamed).await;
    let update = finished_job(&run, "update").await;
    assert_eq!(update["state"]["state"], "done", "not dead: {update}");
    let note = update["last_error"].as_str().unwrap();
    assert!(
        note.contains("not available to this app")
            && note.contains(r#"update_fallback = "ignore""#),
        "the note states the fallback: {note}"
    );
    let pins = run.sandbox.pins();
    assert_eq!(pins.len(), 1);
    assert_eq!(
        pins[0].title.as_deref(),
        Some("Blue mug"),
        "the Pin keeps its text"
    );
    stop(run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_may_not_update_gets_a_new_pin_under_fallback_new_pin() {
    let run = pinned(r#"update_fallback = "new_pin""#).await;
    run.sandbox.set_faults(Faults {
        update_unavailable: true,
        ..Faults::default()
    });
    let renamed = product(1, "Blue mug, large", "2026-11-21T10:00:00-05:00");
    deliver(&run.base, "products/update", "d-2", renamed).await;
    wait_pins(&run.sandbox, "a new Pin with the new title", |p| {
        p.len() == 2 && p[1].title.as_deref() == Some("Blue mug, large")
    })
    .await;
    let update = finished_job(&run, "update").await;
    let note = update["last_error"].as_str().unwrap();
    assert!(note.contains(r#"update_fallback = "new_pin""#), "{note}");
    let pins = item(&run.base).await["pins"].clone();
    assert_eq!(
        pins.as_array().unwrap().len(),
        2,
        "both Pins are pinbridge's: {pins}"
    );
    stop(run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_set_back_to_draft_takes_its_pin_along_and_is_pinned_again_when_active() {
    let run = pinned(r#"on_delete = "delete""#).await;
    let mut draft: Value =
        serde_json::from_str(&product(1, "Blue mug", "2026-11-21T10:00:00-05:00")).unwrap();
    draft["status"] = "draft".into();
    let (status, answer) = deliver(&run.base, "products/update", "d-2", draft.to_string()).await;
    // Recorded as skipped as before; the Pin made while it was active follows on_delete.
    assert_eq!((status, answer["status"].as_str()), (200, Some("skipped")));
    wait_pins(&run.sandbox, "the draft's Pin is deleted", |p| p.is_empty()).await;

    // Active again: pinned again, even with the very same fields.
    let active = product(1, "Blue mug", "2026-11-22T10:00:00-05:00");
    let (status, answer) = deliver(&run.base, "products/update", "d-3", active).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("accepted")));
    wait_pins(&run.sandbox, "the product is pinned again", |p| {
        p.len() == 1
    })
    .await;
    stop(run);
}
