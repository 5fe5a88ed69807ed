//! kill -9 during a schema migration: a store of the first release, its migration killed with
//! SIGKILL at any of its steps, migrates on the next open and serves everything it held.
//!
//! The in-process test beside this one (`store_migration`) stops the migration with an error,
//! after which sled's handle is dropped and flushes. Here nothing is flushed on the way out: the
//! parent re-runs this test binary as a child (`migration_child`, selected by name and an env
//! var) that opens the unpacked fixture with a hook which, at step `k`, prints `AT k` and blocks;
//! the parent waits past sled's background flush (every 500 ms), so what the killed migration
//! had written up to that step is on disk, SIGKILLs it, and opens the store itself.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use pinbridge::store::prelude::*;
use pinbridge::store::sled::MigrationHook;

use crate::store_migration::{
    assert_dedups, assert_serves_everything, migration_steps, open, unpack,
};

const DIR_ENV: &str = "PINBRIDGE_MIGRATION_KILL_DIR";
const STEP_ENV: &str = "PINBRIDGE_MIGRATION_KILL_STEP";

/// Longer than sled's background flush interval (500 ms by default): the partial migration
/// reaches the data file before the kill. The test holds whether or not it did.
const SETTLE: Duration = Duration::from_millis(700);

/// The child: opens the store with a hook that blocks at its `STEP_ENV`-th step until killed.
/// Does nothing unless started by the parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of `a_migration_killed_at_any_step_finishes_on_the_next_open`"]
async fn migration_child() {
    let (Ok(dir), Ok(stop)) = (std::env::var(DIR_ENV), std::env::var(STEP_ENV)) else {
        return;
    };
    let stop: usize = stop.parse().expect("a step number");
    let seen = Arc::new(AtomicUsize::new(0));
    let hook = MigrationHook(Arc::new(move |step: &str| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == stop {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(format!("AT {n} {step}\n").as_bytes());
            let _ = out.flush();
            drop(out);
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
        Ok(())
    }));
    let _ = open(Path::new(&dir), Some(hook)).await;
    println!("FINISHED");
}

/// Run the child until it reports its step, let sled's flusher run, SIGKILL it.
fn kill_child_at(path: &Path, stop: usize) {
    let stop_text = stop.to_string();
    let mut child = crate::support::child::spawn_test(
        "store_migration_kill::migration_child",
        &[(DIR_ENV, path.as_os_str()), (STEP_ENV, stop_text.as_ref())],
    );
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the child did not reach step {stop} within 60 s"));
        assert_ne!(line, "FINISHED", "the migration ended before step {stop}");
        if line.starts_with(&format!("AT {stop} ")) {
            break;
        }
    }
    std::thread::sleep(SETTLE);
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert!(!status.success(), "the child was not killed: {status}");
    let _ = reader.join();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_at_any_step_finishes_on_the_next_open() {
    let steps = migration_steps().await;
    for stop in 1..=steps {
        let (_dir, path, manifest) = unpack();
        let child_path = path.clone();
        tokio::task::spawn_blocking(move || kill_child_at(&child_path, stop))
            .await
            .unwrap();
        let store = open(&path, None)
            .await
            .unwrap_or_else(|e| panic!("reopening after a kill at step {stop}: {e}"));
        assert_serves_everything(&store, &manifest).await;
        assert_dedups(&store, &manifest).await;
        store.close().await.unwrap();
    }
}

/// Killed twice: at a step of the first migration, then at a later step of the resumed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_killed_twice_finishes_on_the_third_open() {
    let (_dir, path, manifest) = unpack();
    let first = path.clone();
    tokio::task::spawn_blocking(move || kill_child_at(&first, 3))
        .await
        .unwrap();
    let second = path.clone();
    tokio::task::spawn_blocking(move || kill_child_at(&second, 2))
        .await
        .unwrap();
    let store = open(&path, None).await.unwrap();
    assert_serves_everything(&store, &manifest).await;
    assert_dedups(&store, &manifest).await;
    store.close().await.unwrap();
}
