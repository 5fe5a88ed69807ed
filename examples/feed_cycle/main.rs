//! One full poll cycle of 10,000 feeds against a local server (docs/BENCHMARKS.md, "Feed
//! polling").
//!
//! The feed server runs in a child process (this same binary with `--serve`), so the figures
//! (wall time, CPU from getrusage, peak RSS from VmHWM) are pinbridge's alone. Feeds are spread
//! over several loopback addresses (127.0.0.1 … 127.0.0.N) because the Fetcher allows only
//! `per_host` (default 2) fetches per host at once.
//!
//! Cycle 1 (baseline) fetches every feed (200, 10 items each) and records validators. Then the
//! server switches generation: feeds 0..1000 gain one new item (new ETag), the other 9,000
//! answer 304 to the validators. Cycle 2 is the measured one.
//!
//! cargo run --release --example feed_cycle [-- FEEDS HOSTS [PER_HOST]]
//! Env: SLED_CACHE_MB (the store's cache_capacity, default 64), POLLS (whole polls at once:
//! a number, or "unbounded" for the behaviour before the bound), BLOCKING_THREADS (tokio's
//! blocking pool cap, default 512). `--features mimalloc` runs it on mimalloc.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use pinbridge::clock::SystemClock;
use pinbridge::ingest::{Ingest, IngestConfig};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::fetch::FetchLimits;
use pinbridge::sources::feed::{FeedSettings, FeedSource, Fetcher, PollReport, poll_cycle};
use pinbridge::store::Store;
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::sync::route::{RouteRule, Routes, When};

// `--features mimalloc`: the same run on mimalloc, for the allocator comparison.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod measure;
mod server;

use measure::{cpu_seconds, reset_peak, sample_threads, status_kib};
use server::serve;

const NEW_EVERY: usize = 10; // one feed in ten gets a new item: 1,000 of 10,000

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        let hosts: usize = args.get(2).and_then(|h| h.parse().ok()).unwrap_or(32);
        return serve(hosts);
    }
    let feeds: usize = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let hosts: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(32);
    let per_host: Option<usize> = args.get(3).and_then(|v| v.parse().ok());
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    // BLOCKING_THREADS: cap tokio's blocking pool (default 512), for the memory comparison.
    if let Some(n) = std::env::var("BLOCKING_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        runtime.max_blocking_threads(n);
    }
    let runtime = runtime.enable_all().build()?;
    if args.get(1).map(String::as_str) == Some("--cycle") {
        return runtime.block_on(child_cycle(&args));
    }
    runtime.block_on(client(feeds, hosts, per_host))
}

// ---------------------------------------------------------------- the feed server (child)

// ---------------------------------------------------------------- the measured client

#[derive(Default, Debug)]
struct Tally {
    polled: usize,
    not_modified: usize,
    new: usize,
    pinned: usize,
    failed: usize,
    first_error: Option<String>,
    peak_threads: u64,
}

async fn cycle(sources: &[FeedSource], ingest: &Ingest) -> (Tally, f64, f64, u64) {
    reset_peak();
    let sampling = CancellationToken::new();
    let threads = sample_threads(sampling.clone());
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    let token = CancellationToken::new();
    let mut tasks = JoinSet::new();
    for s in sources {
        let (s, ingest, token) = (s.clone(), ingest.clone(), token.clone());
        tasks.spawn(async move { poll_cycle(&s, &ingest, &token).await });
    }
    let mut tally = Tally::default();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(PollReport::Polled {
                new,
                pinned,
                not_modified,
                ..
            })) => {
                tally.polled += 1;
                tally.new += new;
                tally.pinned += pinned;
                tally.not_modified += usize::from(not_modified);
            }
            Ok(Ok(PollReport::Failed { error, .. })) => {
                tally.failed += 1;
                tally.first_error.get_or_insert(error);
            }
            other => {
                tally.failed += 1;
                tally.first_error.get_or_insert(format!("{other:?}"));
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    let peak = status_kib("VmHWM:");
    sampling.cancel();
    tally.peak_threads = threads.await.unwrap_or(0);
    (tally, wall, cpu, peak)
}

/// Open the store in `dir`, build the sources, run one cycle and print its figures.
async fn run_cycle(
    label: &str,
    dir: &std::path::Path,
    addrs: &[SocketAddr],
    feeds: usize,
    per_host: Option<usize>,
) -> anyhow::Result<Tally> {
    let cache_mb: u64 = std::env::var("SLED_CACHE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let options = SledOptions {
        cache_capacity_bytes: cache_mb * 1024 * 1024,
        ..SledOptions::default()
    };
    let store: Arc<dyn Store> =
        Arc::new(SledStore::open_async(dir.join("store"), options, None).await?);
    let config = IngestConfig {
        routes: Routes::new(vec![RouteRule {
            name: "all".into(),
            source: "*".into(),
            account: "main".into(),
            board: "Board".into(),
            section: None,
            when: When::default(),
        }]),
        on_change: Default::default(),
        policies: Default::default(),
    };
    let ingest = Ingest::new(
        store.clone(),
        Arc::new(SystemClock),
        config,
        Default::default(),
    );
    let limits = match per_host {
        Some(p) => FetchLimits {
            per_host: p,
            ..FetchLimits::default()
        },
        None => FetchLimits::default(),
    };
    let mut fetcher = Fetcher::with_limits(limits);
    // POLLS: whole polls at once (default: 2 per fetch slot); "unbounded" = before the bound.
    let polls = std::env::var("POLLS").ok();
    match polls.as_deref() {
        Some("unbounded") => fetcher = fetcher.with_poll_limit(usize::MAX),
        Some(n) => {
            if let Ok(n) = n.parse() {
                fetcher = fetcher.with_poll_limit(n)
            }
        }
        None => {}
    }
    let sources: Vec<FeedSource> = (0..feeds)
        .map(|n| {
            let addr = addrs[n % addrs.len()];
            let mut settings = FeedSettings::for_url(format!("http://{addr}/feed/{n}"));
            settings.allow_private = true;
            FeedSource::new(
                SourceId::new(format!("feed-{n}")),
                settings,
                fetcher.clone(),
            )
        })
        .collect::<Result<_, _>>()?;
    let rss0 = status_kib("VmRSS:");
    let (t, wall, cpu, peak) = cycle(&sources, &ingest).await;
    println!(
        "{label}: feeds {feeds}, hosts {}, {limits:?}, polls at once {}, sled cache {cache_mb} MiB\n  {t:?}\n  wall {wall:.2} s, cpu {cpu:.2} s (user+sys), RSS before {} MiB, peak RSS {} MiB",
        addrs.len(),
        polls.as_deref().unwrap_or("default"),
        rss0 / 1024,
        peak / 1024
    );
    store.close().await?;
    drop((sources, ingest, store));
    println!(
        "  RSS after closing the store: {} MiB",
        status_kib("VmRSS:") / 1024
    );
    Ok(t)
}

fn parse_addrs(list: &str) -> Vec<SocketAddr> {
    list.split(',').filter_map(|a| a.parse().ok()).collect()
}

/// Child mode: `--cycle LABEL DIR ADDRS FEEDS PER_HOST|-`.
async fn child_cycle(args: &[String]) -> anyhow::Result<()> {
    let label = &args[2];
    let dir = std::path::PathBuf::from(&args[3]);
    let addrs = parse_addrs(&args[4]);
    let feeds: usize = args[5].parse()?;
    let per_host = args.get(6).and_then(|v| v.parse().ok());
    run_cycle(label, &dir, &addrs, feeds, per_host).await?;
    Ok(())
}

async fn client(feeds: usize, hosts: usize, per_host: Option<usize>) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut server = Command::new(&exe)
        .args(["--serve", &hosts.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("piped")).read_line(&mut line)?;
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    anyhow::ensure!(
        ports.len() == hosts,
        "the feed server did not start: {line}"
    );
    let addrs: Vec<SocketAddr> = ports
        .iter()
        .enumerate()
        .map(|(h, p)| SocketAddr::from(([127, 0, 0, (h + 1) as u8], *p)))
        .collect();
    let addr_list = addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let dir = tempfile::tempdir()?;
    let per_host_arg = per_host.map_or("-".to_string(), |p| p.to_string());
    let run_child = |label: &str| -> anyhow::Result<()> {
        let status = Command::new(&exe)
            .args([
                "--cycle",
                label,
                &dir.path().display().to_string(),
                &addr_list,
                &feeds.to_string(),
                &per_host_arg,
            ])
            .status()?;
        anyhow::ensure!(status.success(), "{label} failed");
        Ok(())
    };
    let advance = || async {
        let r = reqwest::Client::new()
            .post(format!("http://{}/advance", addrs[0]))
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "could not advance the server");
        anyhow::Ok(())
    };

    // A: each cycle in a fresh process (a restarted service): the measured cycle's own peak.
    run_child("A1 baseline cycle (fresh process)")?;
    advance().await?;
    run_child("A2 measured cycle (fresh process)")?;

    // B: both cycles in this process on a new store (a long-running service): the measured
    // cycle's peak includes what the baseline cycle left resident.
    let dir_b = tempfile::tempdir()?;
    advance().await?; // generation 2: the 1,000 feeds change again, others stay 304
    run_cycle(
        "B1 baseline cycle (same process)",
        dir_b.path(),
        &addrs,
        feeds,
        per_host,
    )
    .await?;
    advance().await?;
    let t = run_cycle(
        "B2 measured cycle (same process)",
        dir_b.path(),
        &addrs,
        feeds,
        per_host,
    )
    .await?;

    let expected_new = feeds.div_ceil(NEW_EVERY);
    let ok = t.failed == 0
        && t.new == expected_new
        && t.pinned == expected_new
        && t.not_modified == feeds - expected_new;
    println!(
        "check: {} (expected {expected_new} new items pinned, {} answered 304)",
        if ok { "OK" } else { "MISMATCH" },
        feeds - expected_new
    );
    drop(server.stdin.take());
    let _ = server.wait();
    anyhow::ensure!(ok, "the measured cycle did not do what was expected");
    Ok(())
}
