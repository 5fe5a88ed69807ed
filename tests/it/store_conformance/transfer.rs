//! Adoption and transfer: a board's existing Pins hold their links (never over a Pin already
//! recorded), the board remembers that it was adopted; export pages in key order with their
//! jobs, and import writes only what is absent.

use std::sync::Arc;

use pinbridge::store::transfer::Pages;
use pinbridge::store::*;

use super::{LEASE, T0, item, open_sled, plan, src};

const MUG: &str = "https://shop.example/products/mug";
const CUP: &str = "https://shop.example/products/cup";

fn with_link(key: &str, link: &str) -> pinbridge::item::Item {
    let mut it = item(key, key);
    it.link = Some(link.into());
    it
}

pub(super) async fn adopted_pins_hold_their_links_and_the_board_remembers(store: Arc<dyn Store>) {
    store
        .ingest(&with_link("mug", MUG), plan(&["b"]), T0)
        .await
        .unwrap();
    store
        .ingest(&with_link("cup", CUP), plan(&["b"]), T0)
        .await
        .unwrap();
    let leases = store.claim(2, LEASE, T0).await.unwrap();
    let mug = leases.iter().find(|l| l.item.link.as_deref() == Some(MUG));
    let cup = leases.iter().find(|l| l.item.link.as_deref() == Some(CUP));
    let (mug, cup) = (mug.unwrap().clone(), cup.unwrap().clone());
    // pinbridge made the mug's Pin already; the cup's job holds its link without a Pin yet.
    assert_eq!(
        store.claim_link(&mug, MUG, T0).await.unwrap(),
        LinkClaim::Mine
    );
    assert_eq!(
        store.claim_link(&cup, CUP, T0).await.unwrap(),
        LinkClaim::Mine
    );
    let record = PinRecord {
        link: Some(MUG),
        note: None,
    };
    store.complete_pin(&mug, "pin-1", record, T0).await.unwrap();

    assert_eq!(store.board_adopted("main", "b").await.unwrap(), None);
    let found = vec![
        (MUG.to_string(), "old-mug".to_string()),
        (CUP.to_string(), "old-cup".to_string()),
        (
            "https://shop.example/other".to_string(),
            "old-other".to_string(),
        ),
    ];
    let recorded = store
        .adopt_links("main", "b", &found, false, T0 + 1)
        .await
        .unwrap();
    assert_eq!(recorded, 2, "the mug's own Pin stays its link's Pin");
    assert_eq!(store.board_adopted("main", "b").await.unwrap(), None);
    store
        .adopt_links("main", "b", &[], true, T0 + 2)
        .await
        .unwrap();
    assert_eq!(
        store.board_adopted("main", "b").await.unwrap(),
        Some(T0 + 2)
    );
    assert_eq!(store.board_adopted("main", "c").await.unwrap(), None);

    let mug_holder = store.link_holder("main", "b", MUG).await.unwrap().unwrap();
    assert_eq!(mug_holder.pin_id.as_deref(), Some("pin-1"));
    assert!(!mug_holder.is_adopted());
    // The cup's job now finds its link pinned by the adopted Pin.
    match store.claim_link(&cup, CUP, T0 + 3).await.unwrap() {
        LinkClaim::Pinned(holder) => {
            assert!(holder.is_adopted());
            assert_eq!(holder.pin_id.as_deref(), Some("old-cup"));
        }
        other => panic!("expected Pinned, got {other:?}"),
    }
    // Adopting again (a later `boards adopt`) changes nothing already recorded.
    let again = store
        .adopt_links("main", "b", &found, true, T0 + 4)
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert_eq!(
        store.board_adopted("main", "b").await.unwrap(),
        Some(T0 + 2)
    );
}

/// Every record a store gives out, in export order.
async fn exported(store: &dyn Store) -> Vec<TransferRecord> {
    let mut pages = Pages::new(store);
    let mut out = Vec::new();
    while let Some(page) = pages.next().await.unwrap() {
        out.extend(page);
    }
    out
}

pub(super) async fn export_pages_and_import_adds_only_what_is_absent(store: Arc<dyn Store>) {
    // A source store (sled) with items, a Pin made, a link, an adopted board, a source state
    // and a runtime config record.
    let source_backend = open_sled().await;
    let from = source_backend.store.clone();
    for key in ["a", "b", "c"] {
        from.ingest(
            &with_link(key, &format!("https://x.example/{key}")),
            plan(&["b"]),
            T0,
        )
        .await
        .unwrap();
    }
    let lease = from.claim(1, LEASE, T0).await.unwrap().remove(0);
    let link = lease.item.link.clone().unwrap();
    from.claim_link(&lease, &link, T0).await.unwrap();
    let record = PinRecord {
        link: Some(&link),
        note: None,
    };
    from.complete_pin(&lease, "pin-a", record, T0)
        .await
        .unwrap();
    let claimed = from.claim(1, LEASE, T0).await.unwrap().remove(0);
    from.adopt_links("main", "b", &[(MUG.into(), "old".into())], true, T0)
        .await
        .unwrap();
    let state = SourceState {
        etag: Some("\"e\"".into()),
        baselined: true,
        ..SourceState::default()
    };
    from.set_source_state(&src(), &state).await.unwrap();
    let config = ConfigRecord {
        kind: ConfigRecordKind::Route,
        id: "r".into(),
        body: r#"{"name":"r"}"#.into(),
    };
    from.write_config_records(std::slice::from_ref(&config), &[])
        .await
        .unwrap();

    // Item pages follow the cursor, each item with its jobs.
    let first = from.export_items(None, 2).await.unwrap();
    assert_eq!(first.len(), 2);
    let last = &first[1].0.item;
    let rest = from
        .export_items(Some((last.source.clone(), last.key.clone())), 2)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert!(first.iter().chain(&rest).all(|(_, jobs)| jobs.len() == 1));

    let records = exported(from.as_ref()).await;
    assert_eq!(records.len(), 3 + 2 + 1 + 1 + 1, "{records:#?}");
    let mut importer = pinbridge::store::transfer::Importer::new(store.as_ref(), T0 + 10);
    for record in records.clone() {
        importer.push(record).await.unwrap();
    }
    importer.flush().await.unwrap();
    assert_eq!(importer.counts.written, 8);

    // Everything arrived: items with fingerprints, jobs with their states and Pins.
    for (stored, jobs) in first.iter().chain(&rest) {
        let key = &stored.item.key;
        let there = store.item(&src(), key).await.unwrap().expect("imported");
        assert_eq!(there.fingerprint, stored.fingerprint);
        let mut have = store.item_jobs(&src(), key).await.unwrap();
        assert_eq!(have.len(), 1);
        let job = have.remove(0);
        assert_eq!(job.id, jobs[0].id);
        if job.id == lease.job.id {
            assert!(matches!(&job.state, JobState::Done { pin_id, .. } if pin_id == "pin-a"));
        } else if job.id == claimed.job.id {
            // Leased in the source: it may have sent its create, so it reconciles first.
            assert!(
                matches!(job.state, JobState::Unknown { .. }),
                "{:?}",
                job.state
            );
        } else {
            assert_eq!(job.state, jobs[0].state);
        }
    }
    let holder = store
        .link_holder("main", "b", &link)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.pin_id.as_deref(), Some("pin-a"));
    assert!(
        store
            .link_holder("main", "b", MUG)
            .await
            .unwrap()
            .unwrap()
            .is_adopted()
    );
    assert_eq!(store.board_adopted("main", "b").await.unwrap(), Some(T0));
    assert_eq!(store.source_state(&src()).await.unwrap(), state);
    assert_eq!(store.config_records().await.unwrap(), vec![config]);
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.items, 3);
    assert_eq!(stats.jobs_by_state.get("done"), Some(&1));

    // Importing again changes nothing.
    let before = exported(store.as_ref()).await;
    let mut again = pinbridge::store::transfer::Importer::new(store.as_ref(), T0 + 20);
    for record in records {
        again.push(record).await.unwrap();
    }
    again.flush().await.unwrap();
    assert_eq!(again.counts.written, 0);
    assert_eq!(again.counts.present, 8);
    assert_eq!(exported(store.as_ref()).await, before);
    // An imported job still runs: the pending one is claimable, the Pin made is not redone.
    let runnable = store.claim(10, LEASE, T0 + 30).await.unwrap();
    assert_eq!(runnable.len(), 2, "the pending and the reconciling job");
    assert!(runnable.iter().all(|l| l.job.id != lease.job.id));
    from.close().await.unwrap();
}

pub(super) async fn an_import_keeps_follow_jobs_and_removal_marks(store: Arc<dyn Store>) {
    // A product pinned, then deleted at its source under `on_delete = "delete"`: the item
    // carries a removal mark and a delete job follows its Pin. Both must survive a move, or
    // the imported store would pin the item again or forget to delete its Pin.
    let source_backend = open_sled().await;
    let from = source_backend.store.clone();
    from.ingest(&item("gone", "Gone"), plan(&["b"]), T0)
        .await
        .unwrap();
    let lease = from.claim(1, LEASE, T0).await.unwrap().remove(0);
    from.complete(&lease, "pin-gone", T0).await.unwrap();
    let key = lease.job.item.clone();
    let removed = from
        .source_removed(&src(), &key, &["0".to_string()], T0 + 1)
        .await
        .unwrap();
    assert_eq!(removed.deletes, 1);

    let mut importer = pinbridge::store::transfer::Importer::new(store.as_ref(), T0 + 10);
    for record in exported(from.as_ref()).await {
        importer.push(record).await.unwrap();
    }
    importer.flush().await.unwrap();

    let there = store.item(&src(), &key).await.unwrap().expect("imported");
    assert!(there.removed.is_some(), "the removal mark came along");
    let jobs = store.item_jobs(&src(), &key).await.unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:#?}");
    let delete = jobs
        .iter()
        .find(|job| !job.kind.is_create())
        .expect("the delete job came along");
    assert!(
        matches!(&delete.kind, JobKind::Delete { pin_id: Some(pin), .. } if pin == "pin-gone"),
        "{:?}",
        delete.kind
    );
}
