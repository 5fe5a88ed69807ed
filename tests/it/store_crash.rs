//! kill -9 test of the embedded store, on each engine: every acknowledged write survives a SIGKILL.
//!
//! The parent re-runs this test binary as a child (`crash_child`, selected by name and an env
//! var). The child ingests on several tasks and prints `ACK <key>` right after `ingest` returns,
//! and `DONE <job id>` after `complete` returns; the parent SIGKILLs it at a seeded random moment,
//! reopens the store and checks every acknowledged key and completion is there.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{Engine, SledOptions, SledStore};
use pinbridge::store::{JobId, JobState};

use crate::support::plans::plan;

const CHILD_ENV: &str = "PINBRIDGE_STORE_CRASH_DIR";
const ROUND_ENV: &str = "PINBRIDGE_STORE_CRASH_ROUND";
const ENGINE_ENV: &str = "PINBRIDGE_STORE_CRASH_ENGINE";
const T0: i64 = 1_700_000_000_000;

fn item(key: &str) -> Item {
    let mut item = Item::new(SourceId::new("crash"), DedupKey::new("guid", key));
    item.title = format!("Item {key}");
    item.description = "x".repeat(200);
    item.image_url = Some(format!("https://example.com/{key}.jpg"));
    item
}

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    // One small write per line: atomic on a pipe, so the parent never sees half a key.
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

/// The child: writes until killed. Does nothing unless started by the parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "child process of `acknowledged_writes_survive_kill_9`"]
async fn crash_child() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_ENV), std::env::var(ROUND_ENV)) else {
        return;
    };
    let engine = match std::env::var(ENGINE_ENV).as_deref() {
        Ok("fjall") => Engine::Fjall,
        _ => Engine::Sled,
    };
    let opts = SledOptions {
        engine,
        ..SledOptions::default()
    };
    let store = SledStore::open_async(dir.into(), opts, None)
        .await
        .expect("child opens the store");
    say("READY".into());
    let mut tasks = Vec::new();
    for task in 0..6 {
        let store = store.clone();
        let round = round.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("{round}-{task}-{n}");
                store.ingest(&item(&key), plan(), T0).await.expect("ingest");
                say(format!("ACK {key}"));
            }
        }));
    }
    // A worker: claims and completes, so job transitions are crash-tested too.
    let worker = store.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            for lease in worker.claim(8, 60_000, T0).await.expect("claim") {
                let pin = format!("pin-{}", lease.job.id);
                worker.complete(&lease, &pin, T0).await.expect("complete");
                say(format!("DONE {}", lease.job.id));
            }
        }
    }));
    for task in tasks {
        let _ = task.await;
    }
}

/// Run one child, kill it after `kill_after`, return the acknowledged lines.
fn run_child(dir: &Path, engine: Engine, round: usize, kill_after: Duration) -> Vec<String> {
    let round = round.to_string();
    let mut child = crate::support::child::spawn_test(
        "store_crash::crash_child",
        &[
            (CHILD_ENV, dir.as_os_str()),
            (ROUND_ENV, round.as_ref()),
            (ENGINE_ENV, engine.as_str().as_ref()),
        ],
    );
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                // A line cut by the kill has no newline and was never acknowledged.
                Ok(_) if buf.ends_with(b"\n") => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                Ok(_) => break,
            }
        }
    });
    let mut lines = Vec::new();
    // The clock for the kill starts once the child has the store open.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("child did not open the store within 60 s");
        if line == "READY" {
            break;
        }
    }
    std::thread::sleep(kill_after);
    child.kill().expect("SIGKILL the child");
    let _ = child.wait();
    let _ = reader.join();
    lines.extend(rx.try_iter());
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    survive_kill_9(Engine::Sled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_on_fjall() {
    survive_kill_9(Engine::Fjall).await;
}

async fn survive_kill_9(engine: Engine) {
    let seed: u64 = std::env::var("PINBRIDGE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test seed {seed} (PINBRIDGE_CRASH_SEED={seed} repeats it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let mut acked_total = 0;
    for round in 0..5 {
        let kill_after = Duration::from_millis(rng.random_range(50..1500));
        let child_path = path.clone();
        let lines =
            tokio::task::spawn_blocking(move || run_child(&child_path, engine, round, kill_after))
                .await
                .unwrap();
        let acked: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("ACK "))
            .collect();
        let done: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("DONE "))
            .collect();
        assert!(
            !acked.is_empty(),
            "round {round}: the child acknowledged nothing"
        );

        // Reopened with the default options: the store's files say which engine wrote them.
        let store = SledStore::open_async(path.clone(), SledOptions::default(), None)
            .await
            .unwrap_or_else(|e| panic!("round {round} (seed {seed}): reopen failed: {e}"));
        assert_eq!(store.engine(), engine);
        for key in &acked {
            let found = store
                .item(&SourceId::new("crash"), &DedupKey::new("guid", key))
                .await
                .unwrap();
            assert!(
                found.is_some(),
                "round {round} (seed {seed}): acknowledged {key} lost"
            );
        }
        for id in &done {
            let job = store.job(&JobId(id.to_string())).await.unwrap();
            let state = job.map(|j| j.state);
            assert!(
                matches!(state, Some(JobState::Done { .. })),
                "round {round} (seed {seed}): completed job {id} is {state:?}"
            );
        }
        assert!(store.quarantined().await.unwrap().is_empty());
        println!(
            "round {round}: killed after {kill_after:?}, {} acked, {} completed, all present",
            acked.len(),
            done.len()
        );
        acked_total += acked.len();
        store.close().await.unwrap();
        drop(store);
    }
    assert!(acked_total > 0);
}
