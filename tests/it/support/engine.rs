//! For tests that drive the sync engine by hand: an App built (not served) over a sled dir on a
//! manual clock, the sandbox's Pins on one board, the store's jobs in one state.

use std::path::Path;
use std::sync::Arc;

use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::config::Config;
use pinbridge::pinterest::sandbox::{Sandbox, SandboxPin};
use pinbridge::store::prelude::*;
use pinbridge::store::{Job, JobFilter};

/// Open the store in `store_dir` and build the App over it on `clock`: a "process start".
pub async fn build_app(store_dir: &Path, clock: &ManualClock, config: &Config) -> App {
    let store: Arc<dyn Store> =
        Arc::new(super::sled::open_retrying(store_dir, Some(Arc::new(clock.clone()))).await);
    App::build_with_store(config, Arc::new(clock.clone()), store)
        .await
        .unwrap()
}

/// The Pins the sandbox holds on `board`.
pub fn pins_on(sandbox: &Sandbox, board: &str) -> Vec<SandboxPin> {
    sandbox
        .pins()
        .into_iter()
        .filter(|p| p.board_name == board)
        .collect()
}

/// Up to 100 jobs in `state`, from every source.
pub async fn jobs_in(store: &dyn Store, state: &str) -> Vec<Job> {
    store
        .jobs(JobFilter {
            source: None,
            state: Some(state.into()),
            limit: 100,
        })
        .await
        .unwrap()
}
