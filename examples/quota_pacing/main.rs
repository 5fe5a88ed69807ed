//! Quota benchmark (docs/BENCHMARKS.md, "Write quota pacing"): how close pinbridge runs to a
//! per-user write quota of Q writes a minute, and with how many 429s.
//!
//! `cargo run --example quota_pacing -- [--quota 120] [--minutes 3] [--only NAME[,NAME]]
//!  [--kind sliding|bucket] [--headers retry-after|rate-limit|both|neither]`
//!
//! Every scenario gets its own in-process sandbox on loopback enforcing Q writes per user a
//! minute, as a sliding minute or a token bucket (`--kind`), its 429s carrying the headers
//! chosen (`--headers`). The scenarios run side by side, all in one run:
//! - `baseline`: a bare client sending creates back to back for `minutes` (pausing 20 ms
//!   after a 429, so it does not take a whole core): what the quota itself lets through (Q a
//!   minute) and how many 429s hammering it costs.
//! - `configured`: pinbridge with `writes_per_minute = Q`, a backlog of Q × (minutes + 1) items.
//! - `too-high`: the same with `writes_per_minute = 4Q` (quota not configured right): the AIMD
//!   pacer has to find Q from the 429s.
//! - `latency`: `writes_per_minute = Q`, items arriving at Q/2 a minute for `minutes`:
//!   ingest (durable) → Pin-created latency, p50/p99.
//!
//! Every figure is printed as one line per scenario.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pinbridge::app::App;
use pinbridge::clock::SystemClock;
use pinbridge::config::Config;
use pinbridge::ingest::Submission;
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::pinterest::sandbox::{QuotaHeaders, QuotaKind, Sandbox, SandboxConfig};
use pinbridge::sync::SyncEvent;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod bare;
use bare::{baseline, create_board};

struct Args {
    quota: u32,
    minutes: u64,
    only: Option<String>,
    kind: QuotaKind,
    headers: QuotaHeaders,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        quota: 120,
        minutes: 3,
        only: None,
        kind: QuotaKind::SlidingWindow,
        headers: QuotaHeaders::RetryAfter,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--quota" => out.quota = value.parse().map_err(|e| format!("--quota: {e}"))?,
            "--minutes" => out.minutes = value.parse().map_err(|e| format!("--minutes: {e}"))?,
            "--only" => out.only = Some(value),
            "--kind" => {
                out.kind = match value.as_str() {
                    "sliding" => QuotaKind::SlidingWindow,
                    "bucket" => QuotaKind::TokenBucket,
                    _ => return Err(format!("--kind sliding|bucket, not {value}")),
                }
            }
            "--headers" => {
                out.headers = match value.as_str() {
                    "retry-after" => QuotaHeaders::RetryAfter,
                    "rate-limit" => QuotaHeaders::RateLimit,
                    "both" => QuotaHeaders::Both,
                    "neither" => QuotaHeaders::Neither,
                    _ => return Err(format!("--headers: unknown {value}")),
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if out.quota < 6 || out.minutes == 0 {
        return Err("--quota must be at least 6 and --minutes at least 1".into());
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A scenario's own sandbox (so its own quota and 429 count) and user, its board made.
struct Prepared {
    sandbox: Sandbox,
    api: String,
    token: String,
    board_id: String,
}

async fn prepare(config: &SandboxConfig, name: &str, stop: &CancellationToken) -> Prepared {
    let sandbox = Sandbox::new(config.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let api = format!("http://{}/v5/", listener.local_addr().expect("addr"));
    sandbox.spawn(listener, stop.clone());
    let user = sandbox.create_user(name);
    let auth = format!("Bearer {}", user.access_token);
    let board_id = create_board(&reqwest::Client::new(), &api, &auth, "Bench").await;
    Prepared {
        sandbox,
        api,
        token: user.access_token,
        board_id,
    }
}

struct Run {
    pins: Vec<Instant>,
    latencies_ms: Vec<f64>,
    rate_samples: Vec<f64>,
    rate_limited: u64,
    /// 429s after the first minute (once settled).
    rate_limited_settled: u64,
}

/// pinbridge against its prepared user: `backlog` items at once, then `per_minute` arrivals a
/// minute, for `window`.
async fn pinbridge_run(
    user: &Prepared,
    name: &str,
    writes_per_minute: u32,
    backlog: usize,
    per_minute: u32,
    window: Duration,
) -> Run {
    let (sandbox, api) = (&user.sandbox, &user.api);
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        r#"
[store]
path = "{store}"
[pinterest]
api_base = "{api}"
[[accounts]]
name = "main"
access_token = "{token}"
writes_per_minute = {writes_per_minute}
daily_cap = 100000
[[routes]]
source = "*"
board = "Bench"
create_missing = true
[sync]
workers = 4
"#,
        store = dir.path().join("store").display(),
        token = user.token,
    );
    let config = Config::from_toml(&text, Path::new("bench.toml"), &|_| None).expect("config");
    let app = App::build(&config, Arc::new(SystemClock))
        .await
        .expect("app");
    let before = sandbox.stats().rate_limited;
    let ingested: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let source = SourceId::new("bench");
    let item = |i: usize| {
        let mut item = Item::new(source.clone(), DedupKey::new("id", &i.to_string()));
        item.title = format!("Item {i}");
        item.link = Some(format!("https://bench.example/{name}/{i}"));
        item.image_url = Some(format!("https://bench.example/{i}.jpg"));
        item
    };
    for i in 0..backlog {
        let it = item(i);
        ingested
            .lock()
            .unwrap()
            .insert(it.link.clone().unwrap_or_default(), Instant::now());
        app.ingest
            .submit(it, Submission::default())
            .await
            .expect("ingest");
    }
    let start = Instant::now();
    let stop = CancellationToken::new();
    let mut events = app.engine.subscribe();
    let engine = tokio::spawn(app.engine.clone().run(stop.clone()));
    let collected = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let collector = {
        let (collected, ingested, stop) = (collected.clone(), ingested.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    event = events.recv() => match event {
                        Ok(SyncEvent::PinCreated { link, .. }) => {
                            let now = Instant::now();
                            let at = link.and_then(|l| ingested.lock().unwrap().get(&l).copied());
                            let mut c = collected.lock().unwrap();
                            c.0.push(now);
                            if let Some(at) = at {
                                c.1.push(now.duration_since(at).as_secs_f64() * 1000.0);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
        })
    };
    let mut rate_samples = Vec::new();
    let mut at_first_minute = None;
    let mut next = backlog;
    let gap = (per_minute > 0).then(|| Duration::from_secs_f64(60.0 / f64::from(per_minute)));
    let mut next_arrival = start;
    let mut next_sample = start;
    while start.elapsed() < window {
        let now = Instant::now();
        if at_first_minute.is_none() && now >= start + Duration::from_secs(60) {
            at_first_minute = Some(sandbox.stats().rate_limited);
        }
        if now >= next_sample {
            if let Some(status) = app.engine.account_status().first() {
                rate_samples.push(status.writes_per_minute);
            }
            next_sample += Duration::from_secs(10);
        }
        if let Some(gap) = gap
            && now >= next_arrival
        {
            let it = item(next);
            next += 1;
            ingested
                .lock()
                .unwrap()
                .insert(it.link.clone().unwrap_or_default(), Instant::now());
            app.ingest
                .submit(it, Submission::default())
                .await
                .expect("ingest");
            next_arrival += gap;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    let _ = engine.await;
    let _ = collector.await;
    let _ = app.store.close().await;
    let (pins, mut latencies_ms) = collected.lock().unwrap().clone();
    latencies_ms.sort_by(f64::total_cmp);
    let after = sandbox.stats().rate_limited;
    Run {
        pins: pins.into_iter().filter(|t| *t <= start + window).collect(),
        latencies_ms,
        rate_samples,
        rate_limited: after - before,
        rate_limited_settled: after - at_first_minute.unwrap_or(after),
    }
}

fn report(name: &str, q: u32, minutes: u64, run: &Run, start_hint: &str) {
    let per_min = run.pins.len() as f64 / minutes as f64;
    // Steady state: the minutes after the first (the first has the bucket's burst, or the
    // AIMD's search).
    let steady = run.pins.len().saturating_sub(
        run.pins
            .first()
            .map(|&t0| {
                run.pins
                    .iter()
                    .filter(|&&t| t < t0 + Duration::from_secs(60))
                    .count()
            })
            .unwrap_or(0),
    );
    let steady_per_min = if minutes > 1 {
        steady as f64 / (minutes - 1) as f64
    } else {
        f64::NAN
    };
    let rates: Vec<String> = run.rate_samples.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "{name:<10} pins={} per_min={per_min:.1} ({:.1}% of Q) steady_per_min={steady_per_min:.1} ({:.1}% of Q) 429s={} settled_429s={} p50_ms={:.0} p99_ms={:.0} pacer_rate_every_10s=[{}] {start_hint}",
        run.pins.len(),
        100.0 * per_min / f64::from(q),
        100.0 * steady_per_min / f64::from(q),
        run.rate_limited,
        run.rate_limited_settled,
        percentile(&run.latencies_ms, 50.0),
        percentile(&run.latencies_ms, 99.0),
        rates.join(","),
    );
}

#[tokio::main]
async fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let (q, minutes) = (args.quota, args.minutes);
    let window = Duration::from_secs(60 * minutes);
    let wants = |name: &str| {
        args.only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == name))
    };
    let config = SandboxConfig {
        write_quota_per_minute: Some(q),
        write_quota_kind: args.kind,
        quota_headers: args.headers,
        ..SandboxConfig::default()
    };
    let stop = CancellationToken::new();
    println!(
        "quota Q={q} writes/min per user ({:?}, 429 headers {:?}), window {minutes} min",
        args.kind, args.headers
    );
    let backlog = q as usize * (minutes as usize + 1);
    // (name, writes_per_minute, backlog, arrivals a minute)
    let scenarios = [
        ("configured", q, backlog, 0),
        ("too-high", 4 * q, backlog, 0),
        ("latency", q, 0, q / 2),
    ];
    // Every scenario's sandbox, user and board first; their board writes leave the quota
    // window before anything is measured.
    let mut users = HashMap::new();
    for name in ["baseline", "configured", "too-high", "latency"] {
        if wants(name) {
            users.insert(name, prepare(&config, name, &stop).await);
        }
    }
    tokio::time::sleep(Duration::from_secs(61)).await;

    let bare = async {
        if !wants("baseline") {
            return;
        }
        let user = &users["baseline"];
        let (ok, limited) = baseline(user, &user.api, window).await;
        println!(
            "baseline   creates={ok} per_min={:.1} ({:.1}% of Q) 429s={limited} (bare client, back to back)",
            ok as f64 / minutes as f64,
            100.0 * ok as f64 / minutes as f64 / f64::from(q),
        );
    };
    let runs = scenarios.iter().filter(|(name, ..)| wants(name)).map(
        |&(name, writes_per_minute, backlog, arrivals)| {
            let user = &users[name];
            async move {
                let run =
                    pinbridge_run(user, name, writes_per_minute, backlog, arrivals, window).await;
                let hint = if arrivals > 0 {
                    format!("(writes_per_minute={writes_per_minute}, {arrivals} arrivals/min)")
                } else {
                    format!("(writes_per_minute={writes_per_minute}, backlog {backlog})")
                };
                report(name, q, minutes, &run, &hint);
            }
        },
    );
    tokio::join!(bare, futures::future::join_all(runs));
    stop.cancel();
}
