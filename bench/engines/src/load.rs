//! The ingest path's concurrency, as pinbridge's webhook receiver drives its store: K senders
//! each submit one ingest and wait for its durable acknowledgement; one writer thread takes
//! everything queued (up to `max_batch`), commits it as one group (reads, writes, fsync) and
//! then acknowledges every ingest of the group.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::engines::Engine;
use crate::record::{Encoding, Ingest, Layout, ingest};

/// One submitted ingest and where to acknowledge it.
struct Request {
    ingest: Ingest,
    ack: Sender<()>,
}

/// What a phase saw.
pub struct Phase {
    pub started: Instant,
    /// (ack time, submit-to-ack latency), sorted by ack time.
    pub acks: Vec<(Instant, Duration)>,
    /// (end time, duration, ingests) of every group commit.
    pub commits: Vec<(Instant, Duration, usize)>,
}

fn p99(mut values: Vec<Duration>) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    values[(values.len() * 99).div_ceil(100) - 1]
}

/// Figures over the last `window` acks of a phase.
pub struct Window {
    pub rate: f64,
    pub ack_p99: Duration,
    pub commit_p99: Duration,
    pub mean_batch: f64,
}

impl Phase {
    pub fn window(&self, window: usize) -> Window {
        let n = self.acks.len();
        let w = window.min(n).max(1);
        let from = if w >= n {
            self.started
        } else {
            self.acks[n - w - 1].0
        };
        let end = self.acks.last().map_or(from, |a| a.0);
        let commits: Vec<_> = self.commits.iter().filter(|c| c.0 > from).collect();
        let batched: usize = commits.iter().map(|c| c.2).sum();
        Window {
            rate: w as f64 / end.duration_since(from).as_secs_f64().max(1e-9),
            ack_p99: p99(self.acks[n.saturating_sub(w)..]
                .iter()
                .map(|a| a.1)
                .collect()),
            commit_p99: p99(commits.iter().map(|c| c.1).collect()),
            mean_batch: batched as f64 / commits.len().max(1) as f64,
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Ingest `from..to` with `senders` concurrent senders into `engine`.
pub fn run_phase(
    engine: &mut dyn Engine,
    layout: Layout,
    encoding: Encoding,
    from: u64,
    to: u64,
    senders: usize,
    max_batch: usize,
) -> anyhow::Result<Phase> {
    let next = Arc::new(AtomicU64::new(from));
    let (queue, requests) = channel::<Request>();
    let started = Instant::now();
    let threads: Vec<_> = (0..senders)
        .map(|_| {
            let (next, queue) = (next.clone(), queue.clone());
            std::thread::spawn(move || {
                let mut acks = Vec::new();
                let (ack, acked) = channel();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    let sent = Instant::now();
                    let request = Request {
                        ingest: ingest(i, now_ms(), layout, encoding),
                        ack: ack.clone(),
                    };
                    if queue.send(request).is_err() || acked.recv().is_err() {
                        break;
                    }
                    acks.push((Instant::now(), sent.elapsed()));
                }
                acks
            })
        })
        .collect();
    drop(queue);
    let commits = write(engine, &requests, max_batch)?;
    let mut acks = Vec::with_capacity((to - from) as usize);
    for thread in threads {
        acks.extend(thread.join().expect("a sender thread panicked"));
    }
    acks.sort_by_key(|a| a.0);
    anyhow::ensure!(
        acks.len() as u64 == to - from,
        "{} of {} ingests acknowledged",
        acks.len(),
        to - from
    );
    Ok(Phase {
        started,
        acks,
        commits,
    })
}

/// The writer: group commits until every sender is done.
fn write(
    engine: &mut dyn Engine,
    requests: &Receiver<Request>,
    max_batch: usize,
) -> anyhow::Result<Vec<(Instant, Duration, usize)>> {
    let mut commits = Vec::new();
    while let Ok(first) = requests.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match requests.try_recv() {
                Ok(request) => batch.push(request),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let start = Instant::now();
        let (ingests, acks): (Vec<Ingest>, Vec<Sender<()>>) =
            batch.into_iter().map(|r| (r.ingest, r.ack)).unzip();
        engine.commit(&ingests)?;
        let end = Instant::now();
        commits.push((end, end - start, ingests.len()));
        for ack in acks {
            let _ = ack.send(());
        }
    }
    Ok(commits)
}
