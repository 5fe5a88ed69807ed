//! The real sled store on disk: opened again after a stop, and searched for what must not be
//! in its files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pinbridge::clock::{ManualClock, SharedClock};
use pinbridge::store::Store;
use pinbridge::store::sled::{SledOptions, SledStore};

/// A fresh sled store in a temp dir that reads time from `clock`, as the engine tests drive
/// it. Keep the `TempDir`: the store lives in it.
pub async fn clocked_store(clock: &ManualClock) -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open_async(
        dir.path().join("store"),
        SledOptions::default(),
        Some(Arc::new(clock.clone())),
    )
    .await
    .unwrap();
    (dir, Arc::new(store))
}

/// Open the sled store at `path`, retrying for up to two seconds: a previous App's background
/// tasks may still hold the store for a moment after it was dropped (sled locks the directory
/// until the last handle goes).
pub async fn open_retrying(path: &Path, clock: Option<SharedClock>) -> SledStore {
    open_retrying_with(path, SledOptions::default(), clock).await
}

/// [`open_retrying`] with other store options.
pub async fn open_retrying_with(
    path: &Path,
    options: SledOptions,
    clock: Option<SharedClock>,
) -> SledStore {
    let mut tries = 0;
    loop {
        match SledStore::open_async(path.to_path_buf(), options.clone(), clock.clone()).await {
            Ok(store) => return store,
            Err(_) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

/// Whether sled's `conf` file of the store at `path` says its pages are compressed: read from
/// the file, not through the store, so a test sees what sled itself recorded.
pub fn conf_says_compressed(path: &Path) -> bool {
    let conf = std::fs::read(path.join("conf")).expect("sled's conf file");
    let text = String::from_utf8_lossy(&conf);
    assert!(text.contains("use_compression: "), "{text}");
    text.contains("use_compression: true")
}

/// Whether any file under `dir` contains `needle`: how a test sees that a secret is not
/// stored in the clear.
pub fn on_disk(dir: &Path, needle: &str) -> bool {
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if std::fs::read(&path)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                return true;
            }
        }
    }
    false
}
