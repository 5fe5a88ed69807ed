//! The `Analytics` capability's conformance checks, on sled always and on PostgreSQL when
//! `PINBRIDGE_TEST_POSTGRES_URL` is set (the same `Backend`s as `store_conformance`).

use std::sync::Arc;

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::transfer;
use pinbridge::store::{PinDay, PinMetrics, PinWatch};

use crate::store_conformance::{open_postgres, open_sled};

const T0: i64 = 1_700_000_000_000;

macro_rules! analytics_conformance {
    ($backend:ident, $open:path; $($check:ident),+) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let backend = $open().await;
                    super::$check(backend.store.clone()).await;
                    backend.store.close().await.expect("close");
                }
            )+
        }
    };
}

macro_rules! every_check {
    ($backend:ident, $open:path) => {
        analytics_conformance!($backend, $open;
            pin_days_upsert_by_pin_and_day_and_read_by_period,
            watched_pins_keep_their_progress_per_account,
            a_collection_step_writes_rows_and_progress_together,
            the_analytics_lease_is_per_account_exclusive_and_expires,
            analytics_rows_travel_with_export_and_import);
    };
}

every_check!(sled, super::open_sled);
every_check!(postgres, super::open_postgres);

fn metrics(impressions: u64) -> PinMetrics {
    PinMetrics {
        impressions,
        saves: 1,
        pin_clicks: impressions / 10,
        outbound_clicks: impressions / 20,
        video_starts: 0,
    }
}

fn watch(account: &str, pin_id: &str) -> PinWatch {
    PinWatch {
        pin_id: pin_id.into(),
        account: account.into(),
        source: SourceId::new("etsy-shop"),
        item: DedupKey::new("guid", &format!("item-{pin_id}")),
        route: "shop-to-decor".into(),
        board: "Decor".into(),
        categories: vec!["lamps".into(), "home".into()],
        made_at: T0,
        fetched_at: None,
        fetched_through: None,
    }
}

fn row(account: &str, pin_id: &str, day: i64, impressions: u64) -> PinDay {
    watch(account, pin_id).row(day, metrics(impressions))
}

fn sorted(mut rows: Vec<PinDay>) -> Vec<PinDay> {
    rows.sort_by(|a, b| (a.day, &a.pin_id).cmp(&(b.day, &b.pin_id)));
    rows
}

pub(super) async fn pin_days_upsert_by_pin_and_day_and_read_by_period(store: Arc<dyn Store>) {
    assert!(store.pin_days(i64::MIN, i64::MAX).await.unwrap().is_empty());
    store
        .record_pin_days(&[
            row("main", "101", 20_000, 50),
            row("main", "101", 20_001, 60),
            row("main", "102", 20_001, 70),
            row("other", "201", 20_002, 80),
        ])
        .await
        .unwrap();
    // The same Pin and day again replaces the row; nothing else changes.
    store
        .record_pin_days(&[row("main", "101", 20_001, 65)])
        .await
        .unwrap();

    let all = sorted(store.pin_days(20_000, 20_002).await.unwrap());
    assert_eq!(
        all,
        vec![
            row("main", "101", 20_000, 50),
            row("main", "101", 20_001, 65),
            row("main", "102", 20_001, 70),
            row("other", "201", 20_002, 80),
        ],
        "rows keep their attribution and figures; one row per Pin and day, all accounts"
    );
    let middle = sorted(store.pin_days(20_001, 20_001).await.unwrap());
    assert_eq!(
        middle.iter().map(|r| r.pin_id.as_str()).collect::<Vec<_>>(),
        vec!["101", "102"],
        "both ends of the period are included, days outside it are not"
    );
    assert!(store.pin_days(20_003, 30_000).await.unwrap().is_empty());
    assert!(
        store.pin_days(20_002, 20_000).await.unwrap().is_empty(),
        "an empty period reads nothing"
    );
}

pub(super) async fn watched_pins_keep_their_progress_per_account(store: Arc<dyn Store>) {
    let added = store
        .watch_pins(&[watch("main", "1"), watch("main", "2"), watch("mainly", "3")])
        .await
        .unwrap();
    assert_eq!(added, 3);

    let mut progressed = watch("main", "1");
    progressed.fetched_at = Some(T0 + 5);
    progressed.fetched_through = Some(20_010);
    store
        .record_collection(&[], std::slice::from_ref(&progressed))
        .await
        .unwrap();
    // Watching a Pin again (the collector rediscovers it) keeps what it had fetched.
    let added = store
        .watch_pins(&[watch("main", "1"), watch("main", "4")])
        .await
        .unwrap();
    assert_eq!(added, 1, "only the new Pin is added");

    let mut main = store.pin_watches("main").await.unwrap();
    main.sort_by(|a, b| a.pin_id.cmp(&b.pin_id));
    assert_eq!(
        main,
        vec![progressed, watch("main", "2"), watch("main", "4")],
        "an account reads its own Pins only (not those of an account whose name it starts)"
    );
    assert_eq!(store.pin_watches("mainly").await.unwrap().len(), 1);
    assert!(store.pin_watches("nobody").await.unwrap().is_empty());
}

pub(super) async fn a_collection_step_writes_rows_and_progress_together(store: Arc<dyn Store>) {
    store.watch_pins(&[watch("main", "7")]).await.unwrap();
    let mut progressed = watch("main", "7");
    progressed.fetched_at = Some(T0 + 1);
    progressed.fetched_through = Some(20_001);
    store
        .record_collection(
            &[row("main", "7", 20_000, 5), row("main", "7", 20_001, 6)],
            std::slice::from_ref(&progressed),
        )
        .await
        .unwrap();
    assert_eq!(store.pin_days(20_000, 20_001).await.unwrap().len(), 2);
    assert_eq!(store.pin_watches("main").await.unwrap(), vec![progressed]);
}

pub(super) async fn the_analytics_lease_is_per_account_exclusive_and_expires(
    store: Arc<dyn Store>,
) {
    let a = store
        .try_lease_analytics("main", "replica-a", T0 + 1000, T0)
        .await
        .unwrap()
        .expect("a free account is leased");
    assert_eq!(
        store
            .try_lease_analytics("main", "replica-b", T0 + 1010, T0 + 10)
            .await
            .unwrap(),
        None,
        "another replica waits while the lease runs"
    );
    assert_eq!(
        store
            .try_lease_analytics("main", "replica-a", T0 + 1500, T0 + 500)
            .await
            .unwrap(),
        Some(a),
        "the holder extends its lease and keeps its token"
    );
    assert!(
        store
            .try_lease_analytics("other", "replica-b", T0 + 1500, T0 + 500)
            .await
            .unwrap()
            .is_some(),
        "leases are per account"
    );
    // A source named like the account is not the account's analytics.
    assert!(
        store
            .try_lease_source(&SourceId::new("main"), "replica-b", T0 + 1500, T0 + 500)
            .await
            .unwrap()
            .is_some()
    );
    let b = store
        .try_lease_analytics("main", "replica-b", T0 + 2600, T0 + 1600)
        .await
        .unwrap()
        .expect("a lease that ran out is taken over");
    assert!(b > a, "a new lease gets a larger token");
    store.release_analytics("main", a).await.unwrap();
    assert_eq!(
        store
            .try_lease_analytics("main", "replica-a", T0 + 2700, T0 + 1700)
            .await
            .unwrap(),
        None,
        "releasing with an old token does not free the new holder's lease"
    );
    store.release_analytics("main", b).await.unwrap();
    assert!(
        store
            .try_lease_analytics("main", "replica-a", T0 + 2700, T0 + 1700)
            .await
            .unwrap()
            .is_some(),
        "a released lease is free at once"
    );
}

pub(super) async fn analytics_rows_travel_with_export_and_import(store: Arc<dyn Store>) {
    // More than one export page (500 rows), so the cursor is exercised.
    let rows: Vec<PinDay> = (0..1203)
        .map(|n| {
            row(
                "main",
                &format!("{}", 1000 + n % 401),
                20_000 + n / 401,
                n as u64,
            )
        })
        .collect();
    store.record_pin_days(&rows).await.unwrap();
    let mut out = Vec::new();
    transfer::export(store.as_ref(), &mut out, T0, |_| {})
        .await
        .unwrap();
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(r#""kind":"pin_day""#))
            .count(),
        1203
    );

    let dir = tempfile::tempdir().unwrap();
    let copy: Arc<dyn Store> = Arc::new(
        pinbridge::store::sled::SledStore::open_async(
            dir.path().join("copy"),
            Default::default(),
            None,
        )
        .await
        .unwrap(),
    );
    for _ in 0..2 {
        transfer::import(copy.as_ref(), out.as_slice(), T0, |_| {}, |_| {})
            .await
            .unwrap();
    }
    assert_eq!(
        sorted(copy.pin_days(i64::MIN, i64::MAX).await.unwrap()),
        sorted(rows),
        "every row arrives once, importing twice changes nothing"
    );
    copy.close().await.unwrap();
}
