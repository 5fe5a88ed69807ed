//! What is measured at a checkpoint, with the load paused: the server's memory, the store's
//! size on disk, and how long `/readyz` and one item lookup take.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Where the store lives, to measure its size.
pub enum StoreSize {
    /// A sled directory: the disk space its files take (what `du` counts, st_blocks × 512).
    Dir(PathBuf),
    /// A PostgreSQL schema: `pg_total_relation_size` (table, indexes, TOAST) of its tables.
    Postgres { pool: sqlx::PgPool, schema: String },
}

impl StoreSize {
    pub async fn bytes(&self) -> anyhow::Result<u64> {
        match self {
            StoreSize::Dir(dir) => disk_usage(dir),
            StoreSize::Postgres { pool, schema } => {
                let total: i64 = sqlx::query_scalar(
                    "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
                )
                .bind(schema)
                .fetch_one(pool)
                .await
                .context("pg_total_relation_size")?;
                Ok(u64::try_from(total).unwrap_or(0))
            }
        }
    }
}

/// Disk space under `path`, as `du` counts it (allocated blocks, not apparent size).
fn disk_usage(path: &Path) -> anyhow::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            total += disk_usage(&entry?.path())?;
        }
    }
    Ok(total)
}

/// The server's resident memory now and its peak so far (VmRSS, VmHWM), in bytes.
pub fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("/proc/{pid}/status: is the server running?"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("no {name} in /proc/{pid}/status"))?;
        let kib: u64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()?;
        Ok(kib * 1024)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU seconds (user + system) this process has used: the load client's own cost, to show
/// whether its core was the limit.
pub fn own_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of stat(5), 12 and 13 after the name; 100 ticks/s
    // is Linux's USER_HZ on every architecture.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// The median time of `rounds` GETs of `urls` (one each, cycling), after one warm-up; every
/// answer must be a 2xx (a lookup of an item that is not there measures nothing).
pub async fn median_get(
    client: &reqwest::Client,
    token: &str,
    urls: &[String],
) -> anyhow::Result<Duration> {
    anyhow::ensure!(!urls.is_empty(), "nothing to request");
    let get = |url: &str| client.get(url).bearer_auth(token).send();
    let warm = get(&urls[0]).await?;
    anyhow::ensure!(warm.status().is_success(), "{}: {}", urls[0], warm.status());
    warm.bytes().await?;
    let mut times = Vec::with_capacity(urls.len());
    for url in urls {
        let start = Instant::now();
        let answer = get(url).await?;
        let status = answer.status();
        answer.bytes().await?;
        times.push(start.elapsed());
        anyhow::ensure!(status.is_success(), "{url}: {status}");
    }
    times.sort();
    Ok(times[times.len() / 2])
}
