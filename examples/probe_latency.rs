//! Probe benchmark (docs/BENCHMARKS.md, "Probes and the status page"): how long `/readyz`,
//! `/metrics` and the status page `/` take with N items in the store.
//!
//! `cargo run --release --example probe_latency -- [--items 10000,100000] [--rounds 20]`
//!
//! For each N: a fresh sled store in a temp dir gets N items (one job each; every tenth job
//! done, every hundredth dead), the service's HTTP router is served on loopback, and each probe
//! is requested `rounds` times after one warm-up, with the admin token (so `/` is the signed-in
//! page and `/metrics` the scrape, not a sign-in form or a 401). One line per probe and N:
//! median and max.
//! Only the public API the service itself uses is called, so the example also builds on older
//! commits (for before/after figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use pinbridge::clock::{Clock, SharedClock, SystemClock};
use pinbridge::http::{self, AdminToken, HttpState, SourceInfo};
use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::store::sled::{SledOptions, SledStore};
use pinbridge::store::{IngestPlan, Store, Target};

/// The admin token the probes send (32 characters or more, as `server.admin_token` requires).
const TOKEN: &str = "probe-latency-admin-token-0123456789";

struct Args {
    items: Vec<usize>,
    rounds: usize,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        items: vec![10_000, 100_000],
        rounds: 20,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--items" => {
                out.items = value
                    .split(',')
                    .map(|n| n.trim().parse().map_err(|e| format!("--items: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--rounds" => out.rounds = value.parse().map_err(|e| format!("--rounds: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(out)
}

fn item(n: usize) -> Item {
    let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", &n.to_string()));
    item.title = format!("Item {n}");
    item.link = Some(format!("https://example.com/{n}"));
    item.image_url = Some(format!("https://example.com/{n}.jpg"));
    item
}

fn plan() -> IngestPlan {
    IngestPlan {
        targets: vec![Target {
            route: "0".into(),
            account: "main".into(),
            board: "Board".into(),
            section: None,
        }],
        ..IngestPlan::default()
    }
}

/// N items with one job each; every tenth job done, every hundredth dead.
async fn fill(store: &dyn Store, n: usize) -> anyhow::Result<()> {
    let now = SystemClock.now_ms();
    for start in (0..n).step_by(1000) {
        let batch = (start..(start + 1000).min(n))
            .map(|i| (item(i), plan()))
            .collect();
        store.ingest_many(batch, now).await?;
    }
    let finished = n / 10;
    let mut done = 0;
    while done < finished {
        let leases = store.claim(500.min(finished - done), 600_000, now).await?;
        if leases.is_empty() {
            break;
        }
        for lease in leases {
            if done % 10 == 0 {
                store.dead(&lease, "400 Bad Request", now).await?;
            } else {
                store.complete(&lease, &format!("pin-{done}"), now).await?;
            }
            done += 1;
        }
    }
    Ok(())
}

async fn time(client: &reqwest::Client, url: &str, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let get = || client.get(url).bearer_auth(TOKEN).send();
    let warm = get().await?;
    anyhow::ensure!(warm.status().is_success(), "{url}: {}", warm.status());
    warm.bytes().await?;
    let mut out = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let answer = get().await?;
        answer.bytes().await?;
        out.push(start.elapsed());
    }
    out.sort();
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args().map_err(anyhow::Error::msg)?;
    println!("items    probe     median_ms  max_ms");
    for n in &args.items {
        let dir = tempfile::tempdir()?;
        let clock: SharedClock = Arc::new(SystemClock);
        let store: Arc<dyn Store> = Arc::new(SledStore::open(
            &dir.path().join("store"),
            SledOptions::default(),
            Some(clock.clone()),
        )?);
        fill(store.as_ref(), *n).await?;
        let mut state = HttpState::new(store.clone(), clock);
        state.accounts = Arc::new(vec!["main".to_string()]);
        state.sources = Arc::new(vec![SourceInfo {
            id: "blog".into(),
            kind: "feed".into(),
            paused: false,
        }]);
        state.admin = Some(Arc::new(AdminToken::new(&TOKEN.to_string().into())));
        state.metrics = pinbridge::telemetry::metrics_handle();
        let router = http::router(state, axum::Router::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let server = tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        for probe in ["/readyz", "/metrics", "/"] {
            let times = time(&client, &format!("{base}{probe}"), args.rounds).await?;
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            println!(
                "{n:<8} {probe:<9} {:>9.2} {:>7.2}",
                ms(times[times.len() / 2]),
                ms(times[times.len() - 1])
            );
        }
        server.abort();
        store.close().await?;
    }
    Ok(())
}
