//! Adoption end to end: a board that already holds Pins (pinned by hand, by Pinterest's RSS
//! import or another scheduler) meets a `backfill = "all"` feed whose items link to them. On
//! first contact the engine reads the board's Pins and makes none of those again; an item not
//! on the board yet gets its one Pin. `adopt_board` pages a large board with bookmarks.

use pinbridge::pinterest::model::limits;
use pinbridge::store::JobState;
use pinbridge::sync::adopt::adopt_board;

use crate::support::pinterest::{self, unlimited};
use crate::sync_pacing::{Harness, feed, jobs, poll};

const ROUTE: &str = r#"
[[routes]]
source = "blog"
board = "Products"
"#;

/// Make a Pin on `board_id` as the user would by hand, through the API.
async fn pin_by_hand(h: &Harness, board_id: &str, title: &str, link: &str) -> String {
    let mut pin = pinterest::pin(board_id, title);
    pin.link = Some(link.to_string());
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/pins", h.api_base.trim_end_matches('/')))
        .bearer_auth(&h.user.access_token)
        .json(&pin)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_board_with_existing_pins_gets_no_duplicates_and_new_items_get_one_pin() {
    let body = feed(&[
        (
            "Blue mug",
            "https://shop.example/products/blue-mug?utm_source=rss",
        ),
        ("Red mug", "https://shop.example/products/red-mug"),
        ("Green mug", "https://shop.example/products/green-mug"),
    ]);
    let h = Harness::start(body, ROUTE).await;
    let board = h.sandbox.create_board(&h.user, "Products");
    // Pinned before pinbridge: two of the feed's products (one link in another case and with a
    // fragment), and something unrelated.
    let blue = pin_by_hand(
        &h,
        &board,
        "Blue",
        "https://SHOP.example/products/blue-mug#x",
    )
    .await;
    let red = pin_by_hand(&h, &board, "Red", "https://shop.example/products/red-mug").await;
    pin_by_hand(&h, &board, "Other", "https://elsewhere.example/").await;

    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();

    let pins = h.pins_on("Products");
    assert_eq!(pins.len(), 4, "one new Pin (green), none twice: {pins:#?}");
    let green: Vec<_> = pins
        .iter()
        .filter(|p| p.link.as_deref() == Some("https://shop.example/products/green-mug"))
        .collect();
    assert_eq!(green.len(), 1);

    let all = jobs(&app).await;
    assert_eq!(all.len(), 3);
    for job in &all {
        let JobState::Done { pin_id, .. } = &job.state else {
            panic!("not done: {job:?}");
        };
        let note = job.last_error.as_deref().unwrap_or_default();
        if *pin_id == green[0].id {
            assert!(note.is_empty(), "{note}");
        } else {
            assert!(*pin_id == blue || *pin_id == red, "{pin_id}");
            assert!(note.starts_with("adopted:"), "{note}");
        }
    }
    assert!(
        app.store
            .board_adopted("main", "Products")
            .await
            .unwrap()
            .is_some()
    );

    // A restart (a new process) does not page the board again, and nothing is pinned twice.
    drop(app);
    let app = h.app().await;
    poll(&app).await;
    app.engine.run_due().await.unwrap();
    assert_eq!(h.pins_on("Products").len(), 4);
}

#[tokio::test]
async fn adoption_pages_through_a_board_larger_than_one_page() {
    let env = pinterest::start(unlimited()).await;
    let board = env.sandbox.create_board(&env.user, "Big");
    let client = env.client().with_page_size(limits::PAGE_SIZE_MIN);
    let count = limits::PAGE_SIZE_MIN as usize * 3 + 2;
    for i in 0..count {
        let mut pin = pinterest::pin(&board, &format!("p{i}"));
        pin.link = Some(format!("https://shop.example/p/{i}"));
        client.create_pin(&pin).await.unwrap();
    }
    let opened = crate::store_conformance::open_sled().await;
    let backend = opened.store.clone();
    let found = adopt_board(backend.as_ref(), &client, "main", "Big", &board, 1)
        .await
        .unwrap();
    assert_eq!(found.pins, count);
    assert_eq!(found.recorded, count);
    for i in [0, count - 1] {
        let link = format!("https://shop.example/p/{i}");
        let holder = backend.link_holder("main", "Big", &link).await.unwrap();
        assert!(holder.is_some_and(|h| h.is_adopted()), "{link}");
    }
    assert_eq!(backend.board_adopted("main", "Big").await.unwrap(), Some(1));
}
