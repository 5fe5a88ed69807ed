//! The catalogue matches the code: every metric recorded under `src/` is described, with the
//! kind it is recorded as, and nothing is described that the code never records.

use std::collections::BTreeMap;
use std::path::Path;

use super::{CATALOG, Kind, LABEL_LESS_COUNTERS};

/// Every `pinbridge_*` name passed to `counter!`/`gauge!`/`histogram!` in the sources.
fn recorded_metrics() -> BTreeMap<String, Kind> {
    let mut found = BTreeMap::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (kind, mac) in [
                    (Kind::Counter, "counter!("),
                    (Kind::Gauge, "gauge!("),
                    (Kind::Histogram, "histogram!("),
                ] {
                    for (at, _) in text.match_indices(mac) {
                        let rest = text[at + mac.len()..].trim_start();
                        let Some(rest) = rest.strip_prefix("\"pinbridge_") else {
                            continue;
                        };
                        let name = &rest[..rest.find('"').unwrap()];
                        found.insert(format!("pinbridge_{name}"), kind);
                    }
                }
            }
        }
    }
    found
}

#[test]
fn every_recorded_metric_is_described_with_its_kind() {
    let recorded = recorded_metrics();
    assert!(recorded.len() >= 19, "found only {recorded:?}");
    for (name, kind) in &recorded {
        let info = CATALOG
            .iter()
            .find(|m| m.name == name)
            .unwrap_or_else(|| panic!("{name} is recorded but not in the metrics catalogue"));
        assert_eq!(info.kind, *kind, "{name} is described as the wrong kind");
        assert!(info.help.ends_with('.'), "{name}: help is a sentence");
    }
    for info in CATALOG {
        assert!(
            recorded.contains_key(info.name),
            "{} is described but never recorded",
            info.name
        );
    }
}

#[test]
fn label_less_counters_are_catalogued_counters() {
    for name in LABEL_LESS_COUNTERS {
        let info = CATALOG.iter().find(|m| m.name == *name).unwrap();
        assert_eq!(info.kind, Kind::Counter);
    }
}

#[test]
fn the_catalogue_is_sorted_without_duplicates() {
    let names: Vec<_> = CATALOG.iter().map(|m| m.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(names, sorted);
}
