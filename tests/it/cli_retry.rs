//! `pinbridge items retry` in bulk through the real binary: several ids, `--all-dead`, and
//! ids that cannot be retried. Tests run without a terminal, so the progress bar stays hidden
//! and the output is plain lines.

use std::process::{Command, Output};
use std::sync::Arc;

use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{JobFilter, JobId, JobState};

use crate::support::ops::{T0, item, plan};

struct Setup {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

impl Setup {
    fn store_path(&self) -> std::path::PathBuf {
        self.dir.path().join("store")
    }

    /// sled's threads may hold the directory lock a moment after the last handle is dropped
    /// (see store_sled.rs): a lock error is retried briefly, here and in `run`.
    async fn open(&self) -> Arc<dyn Store> {
        for _ in 0..200 {
            match SledStore::open_async(self.store_path(), SledOptions::default(), None).await {
                Ok(store) => return Arc::new(store),
                Err(e) if e.to_string().contains("acquire lock") => {
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the store stayed locked")
    }

    async fn run(&self, args: &[&str]) -> Output {
        for _ in 0..200 {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_pinbridge"));
            cmd.args(args).arg("-c").arg(&self.config);
            let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
                .await
                .unwrap();
            // Opening is the command's first step: a lock error means nothing was done yet.
            if !String::from_utf8_lossy(&out.stderr).contains("acquire lock") {
                return out;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the store stayed locked")
    }
}

/// A store with `dead` dead-lettered jobs and one done job; returns their ids.
async fn setup(dead: usize) -> (Setup, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pinbridge.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"{}\"\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let setup = Setup { dir, config };
    let store = setup.open().await;
    let mut ids = Vec::new();
    for n in 0..=dead {
        store
            .ingest(&item("blog", &format!("k{n}")), plan("Board"), T0)
            .await
            .unwrap();
        let lease = store.claim(1, 60_000, T0).await.unwrap().pop().unwrap();
        ids.push(lease.job.id.0.clone());
        if n < dead {
            store.dead(&lease, "board gone", T0).await.unwrap();
        } else {
            store.complete(&lease, "pin-1", T0).await.unwrap();
        }
    }
    store.close().await.unwrap();
    drop(store);
    let done = ids.pop().unwrap();
    (setup, ids, done)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn states(setup: &Setup) -> Vec<(String, String)> {
    let store = setup.open().await;
    let jobs = store
        .jobs(JobFilter {
            source: None,
            state: None,
            limit: usize::MAX,
        })
        .await
        .unwrap();
    store.close().await.unwrap();
    let mut out: Vec<_> = jobs
        .into_iter()
        .map(|j| (j.id.0, j.state.name().to_string()))
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn all_dead_revives_every_dead_job_and_leaves_others() {
    let (s, dead, done) = setup(25).await;
    let out = s.run(&["items", "retry", "--all-dead"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("back to pending").count(), 25, "{stdout}");
    assert!(stdout.contains("25 job(s) will be retried"), "{stdout}");
    // No progress bar drawing in captured output.
    assert!(!text(&out).contains('\r') && !text(&out).contains("\u{1b}["));
    for (id, state) in states(&s).await {
        let expected = if id == done { "done" } else { "pending" };
        assert_eq!(state, expected, "job {id}");
    }
    assert!(dead.iter().all(|id| id != &done));

    // Nothing left to retry: a clean no-op.
    let out = s.run(&["items", "retry", "--all-dead"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("0 job(s) will be retried"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn several_ids_are_retried_and_bad_ones_reported_without_stopping_the_rest() {
    let (s, dead, done) = setup(3).await;
    let out = s
        .run(&["items", "retry", &dead[0], "no-such-job", &done, &dead[2]])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains(&format!("job {}: back to pending", dead[0])),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("job {}: back to pending", dead[2])),
        "{shown}"
    );
    assert!(
        shown.contains("job no-such-job: not retried (no such job)"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("job {done}: not retried (is done, not dead)")),
        "{shown}"
    );
    assert!(shown.contains("2 job(s) will be retried"), "{shown}");
    assert!(shown.contains("2 of 4 job(s) not retried"), "{shown}");
    let states = states(&s).await;
    let state = |id: &str| states.iter().find(|(j, _)| j == id).unwrap().1.clone();
    assert_eq!(state(&dead[0]), "pending");
    assert_eq!(state(&dead[1]), "dead", "not named, not touched");
    assert_eq!(state(&dead[2]), "pending");
    assert_eq!(state(&done), "done");
    let store = s.open().await;
    let job = store.job(&JobId(dead[0].clone())).await.unwrap().unwrap();
    assert!(matches!(job.state, JobState::Pending { .. }) && job.attempts == 0);
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_without_ids_or_all_dead_is_a_usage_error() {
    let (s, _, _) = setup(1).await;
    let out = s.run(&["items", "retry"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--all-dead"), "{}", text(&out));
}
