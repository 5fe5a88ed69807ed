//! Source and account state, and what replicas sharing one store coordinate through it:
//! source leases, write slots, daily Pin counts and account blocks.

use std::sync::Arc;

use pinbridge::item::SourceId;
use pinbridge::store::*;

use super::{T0, src};

pub(super) async fn source_and_account_state_roundtrip(store: Arc<dyn Store>) {
    assert_eq!(
        store.source_state(&src()).await.unwrap(),
        SourceState::default()
    );
    assert_eq!(
        store.account_state("main").await.unwrap(),
        AccountState::default()
    );
    let mut s = SourceState {
        etag: Some("\"abc\"".into()),
        next_poll: Some(T0 + 60_000),
        error_count: 2,
        baselined: true,
        ..SourceState::default()
    };
    s.extra.insert("websub_lease".into(), "86400".into());
    store.set_source_state(&src(), &s).await.unwrap();
    assert_eq!(store.source_state(&src()).await.unwrap(), s);
    assert_eq!(
        store.source_state(&SourceId::new("other")).await.unwrap(),
        SourceState::default()
    );
    let a = AccountState {
        blocked_until: Some(T0 + 1),
        problem: None,
        tokens: Some(vec![1, 2, 3, 0, 255]),
        day: Some(20_718),
        day_pins: 7,
        connects: vec![pinbridge::store::PendingConnect {
            state_digest: "ab".repeat(32),
            browser_digest: Some("cd".repeat(32)),
            expires_at: T0 + 600_000,
            claimed_by: None,
        }],
    };
    store.set_account_state("main", &a).await.unwrap();
    assert_eq!(store.account_state("main").await.unwrap(), a);
}

pub(super) async fn concurrent_account_updates_lose_nothing(store: Arc<dyn Store>) {
    store
        .set_account_state(
            "main",
            &AccountState {
                problem: Some("kept".into()),
                ..AccountState::default()
            },
        )
        .await
        .unwrap();
    // Twenty tasks count Pins while twenty others push the block further: with a plain read
    // then write, some counts or blocks would be overwritten.
    let mut tasks = Vec::new();
    for i in 0..20i64 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.update_account_state("main", Box::new(|st| st.day_pins += 1))
                .await
                .unwrap();
        }));
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.update_account_state(
                "main",
                Box::new(move |st| {
                    st.blocked_until = Some(st.blocked_until.unwrap_or(0).max(T0 + i))
                }),
            )
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let state = store.account_state("main").await.unwrap();
    assert_eq!(state.day_pins, 20);
    assert_eq!(state.blocked_until, Some(T0 + 19));
    assert_eq!(state.problem.as_deref(), Some("kept"));
    let other = store
        .update_account_state("other", Box::new(|st| st.day = Some(3)))
        .await
        .unwrap();
    assert_eq!(
        other.day,
        Some(3),
        "a missing record starts from the default"
    );
}

// Replicas sharing one store: source leases and shared account quotas.

pub(super) async fn source_lease_is_exclusive_renewable_and_expires(store: Arc<dyn Store>) {
    let feed = SourceId::new("feed");
    let a = store
        .try_lease_source(&feed, "a", T0 + 1000, T0)
        .await
        .unwrap()
        .expect("a free source is leased");
    assert_eq!(
        store
            .try_lease_source(&feed, "b", T0 + 1010, T0 + 10)
            .await
            .unwrap(),
        None,
        "another holder waits while the lease runs"
    );
    assert_eq!(
        store
            .try_lease_source(&feed, "a", T0 + 1500, T0 + 500)
            .await
            .unwrap(),
        Some(a),
        "the holder extends its lease and keeps its token"
    );
    assert_eq!(
        store
            .try_lease_source(&feed, "b", T0 + 2400, T0 + 1400)
            .await
            .unwrap(),
        None,
        "the extension counts"
    );
    let other = SourceId::new("other");
    assert!(
        store
            .try_lease_source(&other, "b", T0 + 2400, T0 + 1400)
            .await
            .unwrap()
            .is_some(),
        "leases are per source"
    );
    let b = store
        .try_lease_source(&feed, "b", T0 + 2500, T0 + 1500)
        .await
        .unwrap()
        .expect("an expired lease is taken over");
    assert!(b > a, "a new lease gets a larger token");
    assert_eq!(
        store
            .try_lease_source(&feed, "a", T0 + 2600, T0 + 1600)
            .await
            .unwrap(),
        None,
        "the old holder cannot renew a lease taken over"
    );
    store.release_source(&feed, a).await.unwrap();
    assert_eq!(
        store
            .try_lease_source(&feed, "a", T0 + 2700, T0 + 1700)
            .await
            .unwrap(),
        None,
        "releasing with a stale token does nothing"
    );
    store.release_source(&feed, b).await.unwrap();
    let c = store
        .try_lease_source(&feed, "a", T0 + 2700, T0 + 1700)
        .await
        .unwrap()
        .expect("a released source is free at once");
    assert!(c > b);
}

pub(super) async fn concurrent_source_lease_is_granted_once(store: Arc<dyn Store>) {
    let feed = SourceId::new("feed");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, feed) = (store.clone(), feed.clone());
            tokio::spawn(async move {
                store
                    .try_lease_source(&feed, &format!("replica-{i}"), T0 + 60_000, T0)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut granted = 0;
    for t in tasks {
        granted += usize::from(t.await.unwrap().is_some());
    }
    assert_eq!(
        granted, 1,
        "exactly one of 16 racing holders gets the lease"
    );
}

pub(super) async fn write_slots_are_spaced_per_account(store: Arc<dyn Store>) {
    // 60 a minute with a burst of 3: three at once, then one a second.
    for i in 0..3 {
        assert_eq!(
            store.take_write_slot("main", 60.0, 3, T0).await.unwrap(),
            Ok(()),
            "burst slot {i}"
        );
    }
    assert_eq!(
        store.take_write_slot("main", 60.0, 3, T0).await.unwrap(),
        Err(T0 + 1000),
        "the fourth waits one interval"
    );
    assert_eq!(
        store.take_write_slot("other", 60.0, 3, T0).await.unwrap(),
        Ok(()),
        "accounts are paced separately"
    );
    assert_eq!(
        store
            .take_write_slot("main", 60.0, 3, T0 + 1000)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store
            .take_write_slot("main", 60.0, 3, T0 + 1000)
            .await
            .unwrap(),
        Err(T0 + 2000)
    );
    // A slower rate (after a 429) spaces the next slots wider.
    assert_eq!(
        store
            .take_write_slot("main", 30.0, 1, T0 + 60_000)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store
            .take_write_slot("main", 30.0, 1, T0 + 60_000)
            .await
            .unwrap(),
        Err(T0 + 62_000)
    );
}

pub(super) async fn concurrent_write_slots_grant_the_burst_once(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.take_write_slot("main", 60.0, 5, T0).await.unwrap() })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.unwrap().is_ok());
    }
    assert_eq!(taken, 5, "20 racing writers share one burst of 5");
}

pub(super) async fn daily_pins_are_reserved_once_up_to_the_cap(store: Arc<dyn Store>) {
    let day = 20_000;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.reserve_daily_pin("main", day, 3).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.extend(t.await.unwrap());
    }
    counts.sort();
    assert_eq!(
        counts,
        vec![1, 2, 3],
        "three of ten racing creates fit the cap"
    );
    let quota = store.account_quota("main").await.unwrap();
    assert_eq!((quota.day, quota.day_pins), (Some(day), 3));
    assert_eq!(
        store.reserve_daily_pin("main", day + 1, 3).await.unwrap(),
        Some(1),
        "a new day starts from zero"
    );
    assert_eq!(
        store.reserve_daily_pin("main", day + 1, 0).await.unwrap(),
        None
    );
    let quota = store.account_quota("main").await.unwrap();
    assert_eq!((quota.day, quota.day_pins), (Some(day + 1), 1));
}

pub(super) async fn account_blocks_keep_the_latest(store: Arc<dyn Store>) {
    assert_eq!(
        store.account_quota("main").await.unwrap(),
        pinbridge::store::AccountQuota::default()
    );
    store.block_account("main", T0 + 100).await.unwrap();
    store.block_account("main", T0 + 50).await.unwrap();
    assert_eq!(
        store.account_quota("main").await.unwrap().blocked_until,
        Some(T0 + 100),
        "an earlier block does not shorten a later one"
    );
    store.block_account("main", T0 + 200).await.unwrap();
    assert_eq!(
        store.account_quota("main").await.unwrap().blocked_until,
        Some(T0 + 200)
    );
    assert_eq!(
        store.account_quota("other").await.unwrap().blocked_until,
        None
    );
}
