//! Reconcile by time: after an ambiguous create, the board's Pins are paged newest first back to
//! the moment the create was sent (less the clock-skew margin), however many Pins landed on the
//! board since; when the page or time budget runs out first the answer is "undecided", never
//! "absent". Real sandbox on loopback (its `created_at` on a manual clock), real client paging
//! with `bookmark`.

use std::time::Duration;

use pinbridge::sync::reconcile::{ReconcileBudget, Search, find_existing_pin};
use pinbridge::sync::template::PinText;

use crate::support::pinterest::{T0, pin, start, unlimited};

const SECOND: i64 = 1_000;

fn text_of(title: &str) -> PinText {
    let p = pin("0", title);
    PinText {
        title: p.title,
        description: p.description,
        link: p.link,
        alt_text: None,
    }
}

fn budget(pages: u32) -> ReconcileBudget {
    ReconcileBudget {
        pages,
        time: Duration::from_secs(60),
        skew: Duration::from_secs(60),
    }
}

/// A board holding `before` Pins made an hour before T0, ours made at T0 + 1s, then `after`
/// others made one a second. Returns the board id and our Pin's id.
async fn board_with_traffic(
    env: &crate::support::pinterest::Env,
    before: usize,
    after: usize,
) -> (String, String) {
    let client = env.client();
    let board = env.sandbox.create_board(&env.user, "Busy");
    env.clock.set_ms(T0 - 3_600 * SECOND);
    for i in 0..before {
        client
            .create_pin(&pin(&board, &format!("old {i}")))
            .await
            .unwrap();
    }
    env.clock.set_ms(T0 + SECOND);
    let ours = client.create_pin(&pin(&board, "ours")).await.unwrap().id;
    for i in 0..after {
        env.clock.advance_ms(SECOND);
        client
            .create_pin(&pin(&board, &format!("new {i}")))
            .await
            .unwrap();
    }
    (board, ours)
}

#[tokio::test]
async fn the_pin_is_found_behind_more_newer_pins_than_one_page() {
    let env = start(unlimited()).await;
    let (board, ours) = board_with_traffic(&env, 3, 23).await;
    // Five Pins a page: ours is on the fifth page, behind 23 newer ones.
    let client = env.client().with_page_size(5);
    let found = find_existing_pin(&client, &board, &text_of("ours"), T0, &budget(10))
        .await
        .unwrap();
    assert_eq!(found, Search::Found(ours));
}

#[tokio::test]
async fn paging_stops_at_pins_older_than_the_send_and_says_absent() {
    let env = start(unlimited()).await;
    let (board, _) = board_with_traffic(&env, 40, 7).await;
    let client = env.client().with_page_size(5);
    let before = env.sandbox.stats().requests;
    // Sent at T0 + 2s: ours (T0 + 1s) is older than that less no skew, so it is not looked
    // for; 7 newer Pins are on two pages, the page after reaches the hour-old Pins.
    let tight = ReconcileBudget {
        skew: Duration::ZERO,
        ..budget(50)
    };
    let answer = find_existing_pin(
        &client,
        &board,
        &text_of("missing"),
        T0 + 2 * SECOND,
        &tight,
    )
    .await
    .unwrap();
    assert_eq!(answer, Search::Absent);
    let pages = env.sandbox.stats().requests - before;
    assert!(
        pages <= 3,
        "stops once Pins predate the send, not at the board's end: {pages} pages read"
    );
}

#[tokio::test]
async fn the_skew_margin_reaches_pins_stamped_slightly_before_the_send() {
    let env = start(unlimited()).await;
    let (board, ours) = board_with_traffic(&env, 10, 3).await;
    let client = env.client().with_page_size(2);
    // Our clock says the create went out 30s after Pinterest stamped it.
    let found = find_existing_pin(
        &client,
        &board,
        &text_of("ours"),
        T0 + 31 * SECOND,
        &budget(20),
    )
    .await
    .unwrap();
    assert_eq!(found, Search::Found(ours));
}

#[tokio::test]
async fn an_exhausted_page_budget_is_undecided_not_absent() {
    let env = start(unlimited()).await;
    let (board, _) = board_with_traffic(&env, 0, 30).await;
    let client = env.client().with_page_size(5);
    let answer = find_existing_pin(&client, &board, &text_of("missing"), T0, &budget(3))
        .await
        .unwrap();
    match answer {
        Search::Undecided(why) => {
            assert!(why.contains("reconcile_pages (3)"), "{why}");
            assert!(why.contains("15 Pins"), "{why}");
        }
        other => panic!("expected undecided, got {other:?}"),
    }
}

#[tokio::test]
async fn the_end_of_the_board_is_absent() {
    let env = start(unlimited()).await;
    let (board, _) = board_with_traffic(&env, 0, 4).await;
    let client = env.client().with_page_size(5);
    let answer = find_existing_pin(&client, &board, &text_of("missing"), T0, &budget(3))
        .await
        .unwrap();
    assert_eq!(answer, Search::Absent);
}
