//! The same per-ingest writes on sled, redb and fjall (docs/BENCHMARKS.md, "Embedded engines:
//! same ingest path"), so a store-engine choice is made on data.
//!
//! `pinbridge-engine-bench [--engine sled|redb|fjall] [--layout lean|current|service] [--encoding json|compact]
//!   [--items 1000000] [--senders 64] [--max-batch 64] [--checkpoints 10000,100000,1000000]
//!   [--window 10000] [--dir /tmp/pinbridge-engines] [--cache-mb 64]
//!   [--sled-mode low-space|high-throughput] [--sled-compression 1..22] [--sled-segment-kib 512]
//!   [--fjall-bounded yes]`
//!
//! The `--sled-*` settings are sled 0.34's own (`Config::mode`, `use_compression` +
//! `compression_factor`, `segment_size`); they label the engine column as `sled(…)`.
//!
//! A fresh store under `--dir/<engine>-<layout>`; at each checkpoint the senders stop and one
//! markdown row is printed: ingests/s and p99 of a group commit and of an ack over the last
//! `--window` acks, the mean group size, the store's disk usage (as `du` counts it) per item,
//! and this process's RSS (now and peak).

mod engines;
mod load;
mod record;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

struct Args {
    engine: String,
    layout: record::Layout,
    encoding: record::Encoding,
    items: u64,
    senders: usize,
    max_batch: usize,
    checkpoints: Vec<u64>,
    window: usize,
    dir: PathBuf,
    sled: engines::SledSettings,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        engine: "sled".into(),
        layout: record::Layout::Lean,
        encoding: record::Encoding::Json,
        items: 1_000_000,
        senders: 64,
        max_batch: 64,
        checkpoints: vec![10_000, 100_000, 1_000_000],
        window: 10_000,
        dir: std::env::temp_dir().join("pinbridge-engines"),
        sled: engines::SledSettings::default(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--engine" => a.engine = value,
            "--layout" => {
                a.layout = record::Layout::parse(&value).context("--layout lean|current|service")?
            }
            "--encoding" => {
                a.encoding = record::Encoding::parse(&value).context("--encoding json|compact")?
            }
            "--items" => a.items = value.parse().context("--items")?,
            "--senders" => a.senders = value.parse().context("--senders")?,
            "--max-batch" => a.max_batch = value.parse().context("--max-batch")?,
            "--window" => a.window = value.parse().context("--window")?,
            "--dir" => a.dir = value.into(),
            "--cache-mb" => a.sled.cache_mb = value.parse().context("--cache-mb")?,
            "--sled-mode" => {
                a.sled.low_space = match value.as_str() {
                    "low-space" => true,
                    "high-throughput" => false,
                    _ => bail!("--sled-mode low-space|high-throughput"),
                }
            }
            "--sled-compression" => {
                a.sled.compression = Some(value.parse().context("--sled-compression 1..22")?)
            }
            "--fjall-bounded" => a.sled.fjall_bounded = value == "yes",
            "--sled-segment-kib" => {
                a.sled.segment_kib = Some(value.parse().context("--sled-segment-kib")?)
            }
            "--checkpoints" => {
                a.checkpoints = value
                    .split(',')
                    .map(|n| n.trim().parse().context("--checkpoints"))
                    .collect::<anyhow::Result<_>>()?
            }
            other => bail!("unknown flag {other}"),
        }
    }
    if a.items == 0 || a.senders == 0 || a.max_batch == 0 || a.window == 0 {
        bail!("--items, --senders, --max-batch and --window must be above 0");
    }
    a.checkpoints.retain(|&c| c > 0 && c < a.items);
    a.checkpoints.sort_unstable();
    a.checkpoints.dedup();
    a.checkpoints.push(a.items);
    Ok(a)
}

/// Disk space under `path`, as `du` counts it (allocated blocks).
fn disk_usage(path: &Path) -> anyhow::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            total += disk_usage(&entry?.path())?;
        }
    }
    Ok(total)
}

/// This process's VmRSS and VmHWM in bytes.
fn memory() -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name}"))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn mib(bytes: u64) -> String {
    format!("{:.0}", bytes as f64 / (1024.0 * 1024.0))
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = a
        .dir
        .join(format!("{}-{:?}-{:?}", a.engine, a.layout, a.encoding).to_lowercase());
    // What one ingest hands the engine (keys + values), to compare with what it takes on disk.
    let logical: usize = record::ingest(0, 1_765_000_000_000, a.layout, a.encoding)
        .writes
        .iter()
        .map(|w| w.1.len() + w.2.len())
        .sum();
    println!(
        "<!-- {} {:?} {:?}: {logical} bytes of keys and values per ingest -->",
        a.engine, a.layout, a.encoding
    );
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    }
    let mut engine = engines::open(&a.engine, &dir, &a.sled)?;
    let label = match a.engine.as_str() {
        "sled" => a.sled.label(),
        "fjall" if a.sled.fjall_bounded => "fjall(bounded)".to_string(),
        _ => a.engine.clone(),
    };
    let mut done = 0;
    for &checkpoint in &a.checkpoints {
        let phase = load::run_phase(
            engine.as_mut(),
            a.layout,
            a.encoding,
            done,
            checkpoint,
            a.senders,
            a.max_batch,
        )?;
        done = checkpoint;
        let w = phase.window(a.window);
        let bytes = disk_usage(&dir)?;
        let (rss, peak) = memory()?;
        println!(
            "| {} | {:?} {:?} | {done} | {:.0} | {} | {} | {:.1} | {} | {:.0} | {} | {} |",
            label,
            a.layout,
            a.encoding,
            w.rate,
            ms(w.commit_p99),
            ms(w.ack_p99),
            w.mean_batch,
            mib(bytes),
            bytes as f64 / done as f64,
            mib(rss),
            mib(peak),
        );
    }
    drop(engine);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
