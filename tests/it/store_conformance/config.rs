//! Live configuration records: saved whole, listed in order, deleted.

use std::sync::Arc;

use pinbridge::store::*;

fn record(kind: ConfigRecordKind, id: &str, body: &str) -> ConfigRecord {
    ConfigRecord {
        kind,
        id: id.into(),
        body: body.into(),
    }
}

pub(super) async fn config_records_roundtrip(store: Arc<dyn Store>) {
    assert!(store.config_records().await.unwrap().is_empty());
    let feed = record(
        ConfigRecordKind::Source,
        "blog",
        r#"{"id":"blog","kind":"feed","url":"https://example.com/feed"}"#,
    );
    let route = record(
        ConfigRecordKind::Route,
        "main",
        r#"{"name":"main","source":"*"}"#,
    );
    let pause = record(
        ConfigRecordKind::PauseOverride,
        "blog",
        r#"{"paused":true}"#,
    );
    store
        .write_config_records(&[pause.clone(), route.clone(), feed.clone()], &[])
        .await
        .unwrap();
    // Sorted by kind (source, route, pause_override), then id; one id under two kinds is two records.
    assert_eq!(
        store.config_records().await.unwrap(),
        vec![feed.clone(), route.clone(), pause.clone()]
    );
    // One write replaces by kind and id, and removes, together; absent removals are ignored.
    let replaced = record(
        ConfigRecordKind::Source,
        "blog",
        r#"{"id":"blog","kind":"feed","url":"https://example.com/other"}"#,
    );
    store
        .write_config_records(
            std::slice::from_ref(&replaced),
            &[
                (ConfigRecordKind::PauseOverride, "blog".to_string()),
                (ConfigRecordKind::Route, "never-was".to_string()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.config_records().await.unwrap(), vec![replaced, route]);
    store
        .write_config_records(&[], &[(ConfigRecordKind::Source, "blog".to_string())])
        .await
        .unwrap();
    assert_eq!(store.config_records().await.unwrap().len(), 1);
}
