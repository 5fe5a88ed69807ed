//! Pacing: board slots in arrival order, one holder per link per board, and `complete_pin`
//! recording the link and the board's last Pin in the fenced write.

use std::sync::Arc;

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::*;

use super::{LEASE, T0, item, plan};

fn item_with_link(key: &str, source: &str, link: &str) -> Item {
    let mut item = Item::new(SourceId::new(source), DedupKey::new("guid", key));
    item.title = key.into();
    item.link = Some(link.into());
    item.image_url = Some(format!("https://example.com/{key}.jpg"));
    item
}

pub(super) async fn board_slots_space_pins_in_arrival_order(store: Arc<dyn Store>) {
    for key in ["1", "2", "3"] {
        store
            .ingest(&item(key, key), plan(&["b"]), T0)
            .await
            .unwrap();
    }
    let leases = store.claim(3, LEASE, T0).await.unwrap();
    assert_eq!(leases.len(), 3);
    let spacing = 600_000;
    assert_eq!(store.board_last_pin("main", "b").await.unwrap(), None);
    let slots = [
        store
            .reserve_board_slot(&leases[0], spacing, T0)
            .await
            .unwrap(),
        store
            .reserve_board_slot(&leases[1], spacing, T0 + 1)
            .await
            .unwrap(),
        store
            .reserve_board_slot(&leases[2], spacing, T0 + 2)
            .await
            .unwrap(),
    ];
    assert_eq!(
        slots,
        [
            BoardSlot::Granted,
            BoardSlot::Wait { at: T0 + spacing },
            BoardSlot::Wait {
                at: T0 + 2 * spacing
            }
        ]
    );
    // Another board is not held up.
    store
        .ingest(&item("4", "4"), plan(&["other"]), T0)
        .await
        .unwrap();
    let other = store.claim(1, LEASE, T0).await.unwrap().remove(0);
    assert_eq!(
        store.reserve_board_slot(&other, spacing, T0).await.unwrap(),
        BoardSlot::Granted
    );
    // The third comes back early: still its booked turn. The second goes at its slot.
    assert_eq!(
        store
            .reserve_board_slot(&leases[2], spacing, T0 + spacing)
            .await
            .unwrap(),
        BoardSlot::Wait {
            at: T0 + 2 * spacing
        }
    );
    assert_eq!(
        store
            .reserve_board_slot(&leases[1], spacing, T0 + spacing)
            .await
            .unwrap(),
        BoardSlot::Granted
    );
    assert_eq!(
        store.board_last_pin("main", "b").await.unwrap(),
        Some(T0 + spacing)
    );
}

pub(super) async fn one_link_one_holder_per_board(store: Arc<dyn Store>) {
    let link = "https://shop.example/products/mug";
    store
        .ingest(&item_with_link("f1", "feed", link), plan(&["b", "c"]), T0)
        .await
        .unwrap();
    store
        .ingest(&item_with_link("w1", "hook", link), plan(&["b"]), T0)
        .await
        .unwrap();
    let leases = store.claim(3, LEASE, T0).await.unwrap();
    let (feed_b, feed_c, hook_b) = {
        let find = |source: &str, board: &str| {
            leases
                .iter()
                .find(|l| l.job.source.as_str() == source && l.job.target.board == board)
                .cloned()
                .expect("leased")
        };
        (find("feed", "b"), find("feed", "c"), find("hook", "b"))
    };
    assert_eq!(
        store.claim_link(&feed_b, link, T0).await.unwrap(),
        LinkClaim::Mine
    );
    assert_eq!(
        store.claim_link(&feed_b, link, T0 + 1).await.unwrap(),
        LinkClaim::Mine,
        "claiming again is idempotent"
    );
    assert_eq!(
        store.claim_link(&feed_c, link, T0).await.unwrap(),
        LinkClaim::Mine,
        "another board is another key"
    );
    // The webhook's job for the same board waits while the feed's is in flight…
    match store.claim_link(&hook_b, link, T0).await.unwrap() {
        LinkClaim::Busy { holder, at } => {
            assert_eq!(holder.job, feed_b.job.id);
            assert!(at > T0);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    // …and once the feed's Pin is made, it is a duplicate of it.
    let record = PinRecord {
        link: Some(link),
        note: None,
    };
    assert_eq!(
        store
            .complete_pin(&feed_b, "pin-1", record, T0 + 5)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    match store.claim_link(&hook_b, link, T0 + 6).await.unwrap() {
        LinkClaim::Pinned(holder) => {
            assert_eq!(holder.pin_id.as_deref(), Some("pin-1"));
            assert_eq!(holder.source.as_str(), "feed");
        }
        other => panic!("expected Pinned, got {other:?}"),
    }
    // A holder that went to the dead letter frees the link.
    store.dead(&feed_c, "rejected", T0 + 7).await.unwrap();
    store
        .ingest(&item_with_link("w2", "hook", link), plan(&["c"]), T0 + 8)
        .await
        .unwrap();
    let hook_c = store.claim(1, LEASE, T0 + 8).await.unwrap().remove(0);
    assert_eq!(
        store.claim_link(&hook_c, link, T0 + 8).await.unwrap(),
        LinkClaim::Mine
    );
    let holder = store
        .link_holder("main", "c", link)
        .await
        .unwrap()
        .expect("held");
    assert_eq!(holder.job, hook_c.job.id);
}

pub(super) async fn complete_pin_is_fenced_and_records_link_and_board(store: Arc<dyn Store>) {
    let link = "https://shop.example/a";
    store
        .ingest(&item_with_link("a", "feed", link), plan(&["b"]), T0)
        .await
        .unwrap();
    let first = store.claim(1, 1_000, T0).await.unwrap().remove(0);
    // The lease expires and another worker takes the job over: the old holder's write is void.
    let second = store.claim(1, 1_000, T0 + 2_000).await.unwrap().remove(0);
    let record = PinRecord {
        link: Some(link),
        note: None,
    };
    assert_eq!(
        store
            .complete_pin(&first, "stale", record, T0 + 2_001)
            .await
            .unwrap(),
        LeaseOutcome::LeaseLost
    );
    assert_eq!(store.link_holder("main", "b", link).await.unwrap(), None);
    assert_eq!(store.board_last_pin("main", "b").await.unwrap(), None);
    assert_eq!(
        store
            .complete_pin(&second, "pin-9", record, T0 + 3_000)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&second.job.id).await.unwrap().unwrap();
    assert!(matches!(&job.state, JobState::Done { pin_id, .. } if pin_id == "pin-9"));
    let holder = store
        .link_holder("main", "b", link)
        .await
        .unwrap()
        .expect("indexed");
    assert_eq!(
        (holder.pin_id.as_deref(), &holder.job),
        (Some("pin-9"), &second.job.id)
    );
    assert_eq!(
        store.board_last_pin("main", "b").await.unwrap(),
        Some(T0 + 3_000)
    );

    // A duplicate completes with the existing Pin and a note; it is not a Pin for spacing.
    store
        .ingest(
            &item_with_link("a2", "hook", link),
            plan(&["b"]),
            T0 + 4_000,
        )
        .await
        .unwrap();
    let dup = store.claim(1, 1_000, T0 + 4_000).await.unwrap().remove(0);
    let note = "same link already pinned on this board by feed/guid:a";
    let record = PinRecord {
        link: None,
        note: Some(note),
    };
    assert_eq!(
        store
            .complete_pin(&dup, "pin-9", record, T0 + 5_000)
            .await
            .unwrap(),
        LeaseOutcome::Applied
    );
    let job = store.job(&dup.job.id).await.unwrap().unwrap();
    assert!(matches!(&job.state, JobState::Done { pin_id, .. } if pin_id == "pin-9"));
    assert_eq!(job.last_error.as_deref(), Some(note));
    assert_eq!(
        store.board_last_pin("main", "b").await.unwrap(),
        Some(T0 + 3_000)
    );
}
