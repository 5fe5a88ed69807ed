//! The ingest plan the store tests hand over with their items: one target, board `b` of
//! account `main`, the way a single route plans it.

use pinbridge::store::{IngestPlan, Target};

/// One target: route `0`, account `main`, board `b`, no section.
pub fn plan() -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "b".into(),
            section: None,
        }],
        ..IngestPlan::default()
    }
}
