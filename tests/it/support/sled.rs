//! The real sled store for tests that stop and start an App over one directory.

use std::path::Path;
use std::time::Duration;

use pinbridge::clock::SharedClock;
use pinbridge::store::sled::{SledOptions, SledStore};

/// Open the sled store at `path`, retrying for up to two seconds: a previous App's background
/// tasks may still hold the store for a moment after it was dropped (sled locks the directory
/// until the last handle goes).
pub async fn open_retrying(path: &Path, clock: Option<SharedClock>) -> SledStore {
    let mut tries = 0;
    loop {
        match SledStore::open_async(path.to_path_buf(), SledOptions::default(), clock.clone()).await
        {
            Ok(store) => return store,
            Err(_) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}
