//! A spaced board keeps its queue order when several workers claim its jobs together: the
//! jobs of one `min_spacing` board claimed in one batch must not race for the board's slot
//! (the later job taking it first would put the Pins out of order).

use pinbridge::store::JobState;

use super::sync_pacing::{Harness, MINUTE, SPACED, feed, jobs, poll};

const ITEMS: usize = 16;

#[tokio::test]
async fn jobs_of_one_spaced_board_claimed_together_keep_their_order() {
    let links: Vec<(String, String)> = (0..ITEMS)
        .map(|i| {
            (
                format!("Item {i}"),
                format!("https://shop.example/products/item-{i}"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = links
        .iter()
        .map(|(t, l)| (t.as_str(), l.as_str()))
        .collect();
    let mut h = Harness::start(feed(&refs), SPACED).await;
    // Every job is claimed in the first batch.
    h.workers = ITEMS;
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 1, "one Pin, the others wait");
    for step in 1..ITEMS {
        h.advance(10 * MINUTE);
        app.engine.run_due().await.unwrap();
        assert_eq!(
            h.pins_on("Products").len(),
            step + 1,
            "one more Pin per interval"
        );
    }
    // Queue order: the jobs' creation order is the Pins' order.
    let mut by_job = jobs(&app).await;
    by_job.sort_by(|a, b| a.id.cmp(&b.id));
    let job_pins: Vec<String> = by_job
        .iter()
        .map(|j| match &j.state {
            JobState::Done { pin_id, .. } => pin_id.clone(),
            other => panic!("job {} is {other:?}", j.id),
        })
        .collect();
    let made: Vec<String> = h.pins_on("Products").iter().map(|p| p.id.clone()).collect();
    assert_eq!(
        job_pins, made,
        "the board's Pins are in the jobs' order (job order vs Pin creation order)"
    );
}
