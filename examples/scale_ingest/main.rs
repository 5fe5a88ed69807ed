//! Scale benchmark client (docs/BENCHMARKS.md, "Scale: 1,000,000 webhook items"), driven by
//! `bench/scale.sh`, which starts the real `pinbridge serve` on a fresh store first.
//!
//! `scale_ingest --url http://127.0.0.1:18190 --pid PID --token T (--store-dir DIR |
//!   --postgres URL --schema S) [--items 1000000] [--connections 64]
//!   [--checkpoints 10000,100000,1000000] [--window 10000] [--rounds 9] [--secret S]
//!   [--source shop] [--run-id r1] [--label sled]`
//!
//! Sends `--items` signed Shopify deliveries (see `load.rs`) over `--connections` keep-alive
//! connections. At each checkpoint the senders stop (so probes measure the store's size, not
//! the queue in front of it), and one markdown table row is printed: acks/s and p99 ack
//! latency over the last `--window` acks, the phase's average rate, store bytes per item,
//! the server's RSS now and its peak (VmHWM), and the median of `--rounds` requests of
//! `/readyz` (with the admin token: the detailed answer) and of `GET /api/v1/items/...` for
//! items picked at random among those sent.

mod load;
mod observe;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use observe::StoreSize;

struct Args {
    url: String,
    pid: u32,
    token: String,
    store: Option<PathBuf>,
    postgres: Option<(String, String)>,
    items: usize,
    connections: usize,
    checkpoints: Vec<usize>,
    window: usize,
    rounds: usize,
    secret: String,
    source: String,
    run_id: String,
    label: String,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        url: String::new(),
        pid: 0,
        token: String::new(),
        store: None,
        postgres: None,
        items: 1_000_000,
        connections: 64,
        checkpoints: vec![10_000, 100_000, 1_000_000],
        window: 10_000,
        rounds: 9,
        secret: "bench-secret".into(),
        source: "shop".into(),
        run_id: "r1".into(),
        label: "pinbridge".into(),
    };
    let (mut pg_url, mut schema) = (None, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        let number = || -> anyhow::Result<usize> { value.parse().context(flag.clone()) };
        match flag.as_str() {
            "--url" => a.url = value.trim_end_matches('/').to_string(),
            "--pid" => a.pid = value.parse().context("--pid")?,
            "--token" => a.token = value,
            "--store-dir" => a.store = Some(value.into()),
            "--postgres" => pg_url = Some(value),
            "--schema" => schema = Some(value),
            "--items" => a.items = number()?,
            "--connections" => a.connections = number()?,
            "--window" => a.window = number()?,
            "--rounds" => a.rounds = number()?,
            "--checkpoints" => {
                a.checkpoints = value
                    .split(',')
                    .map(|n| n.trim().parse().context("--checkpoints"))
                    .collect::<anyhow::Result<_>>()?
            }
            "--secret" => a.secret = value,
            "--source" => a.source = value,
            "--run-id" => a.run_id = value,
            "--label" => a.label = value,
            other => bail!("unknown flag {other}"),
        }
    }
    a.postgres = pg_url.zip(schema);
    if a.url.is_empty() || a.pid == 0 || a.token.is_empty() {
        bail!("--url, --pid and --token are required");
    }
    if a.store.is_none() == a.postgres.is_none() {
        bail!("give either --store-dir or both --postgres and --schema");
    }
    if a.connections == 0 || a.items == 0 || a.rounds == 0 || a.window == 0 {
        bail!("--items, --connections, --rounds and --window must be above 0");
    }
    // Checkpoints beyond --items are dropped; --items itself is always the last one.
    a.checkpoints.retain(|&c| c > 0 && c < a.items);
    a.checkpoints.sort_unstable();
    a.checkpoints.dedup();
    a.checkpoints.push(a.items);
    Ok(a)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / (1024.0 * 1024.0))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections)
        .timeout(Duration::from_secs(120))
        .build()?;
    let size = match (&a.store, &a.postgres) {
        (Some(dir), _) => StoreSize::Dir(dir.clone()),
        (None, Some((url, schema))) => StoreSize::Postgres {
            pool: sqlx::PgPool::connect(url).await.context("connect")?,
            schema: schema.clone(),
        },
        (None, None) => unreachable!("checked in args()"),
    };
    let target = Arc::new(load::Target {
        client: client.clone(),
        hook_url: format!("{}/hooks/{}", a.url, a.source),
        secret: a.secret.clone().into_bytes(),
        run_id: a.run_id.clone(),
    });
    println!(
        "| store | items | acks/s (last {w}) | p99 ack (last {w}) | acks/s (phase) | store MiB | bytes/item | RSS MiB | peak RSS MiB | `/readyz` median ms | item lookup median ms | failed | client CPU % |",
        w = a.window
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let readyz = vec![format!("{}/readyz", a.url); a.rounds];
    let mut sent = 0;
    for &checkpoint in &a.checkpoints {
        let cpu_before = observe::own_cpu_seconds()?;
        let phase = load::run_phase(&target, sent, checkpoint, a.connections).await;
        let client_cpu = (observe::own_cpu_seconds()? - cpu_before)
            / phase.started.elapsed().as_secs_f64().max(1e-9);
        sent = checkpoint;
        let (window_rate, p99) = phase.window(a.window);
        let bytes = size.bytes().await?;
        let (rss, peak) = observe::memory(a.pid)?;
        let ready = observe::median_get(&client, &a.token, &readyz).await?;
        let lookups: Vec<String> = (0..a.rounds)
            .map(|_| {
                let i = rand::random_range(0..sent);
                let key = format!("product:{}", load::product_id(i));
                format!("{}/api/v1/items/{}/{key}", a.url, a.source)
            })
            .collect();
        let lookup = observe::median_get(&client, &a.token, &lookups).await?;
        println!(
            "| {} | {sent} | {window_rate:.0} | {} | {:.0} | {} | {:.0} | {} | {} | {} | {} | {} | {:.0} |",
            a.label,
            ms(p99),
            phase.rate(),
            mib(bytes),
            bytes as f64 / sent as f64,
            mib(rss),
            mib(peak),
            ms(ready),
            ms(lookup),
            phase.failed,
            client_cpu * 100.0,
        );
    }
    Ok(())
}
