//! Where a sled store's bytes go: per tree, the records, their key and value bytes, and the
//! sum against the directory's size on disk (docs/BENCHMARKS.md, "sled's settings").
//! Open a store no service holds:
//!
//!   cargo run --release --example store_census -- <store dir>

use std::path::Path;

use anyhow::{Context, Result};

use pinbridge::store::sled::testing;

fn disk_usage(path: &Path) -> Result<u64> {
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

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: store_census <store dir>")?;
    let db = testing::open_raw(Path::new(&dir)).context("opening the store")?;
    println!("| tree | records | key bytes | value bytes | bytes/record |");
    println!("|---|---:|---:|---:|---:|");
    let (mut all_records, mut all_bytes) = (0u64, 0u64);
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        let (mut n, mut keys, mut values) = (0u64, 0u64, 0u64);
        for entry in tree.iter() {
            let (k, v) = entry?;
            n += 1;
            keys += k.len() as u64;
            values += v.len() as u64;
        }
        all_records += n;
        all_bytes += keys + values;
        let per = (keys + values).checked_div(n).unwrap_or(0);
        println!(
            "| {} | {n} | {keys} | {values} | {per} |",
            String::from_utf8_lossy(&name)
        );
    }
    let disk = disk_usage(Path::new(&dir))?;
    println!(
        "\n{all_records} records, {all_bytes} bytes of keys and values; {disk} bytes on disk ({:.2}×)",
        disk as f64 / all_bytes.max(1) as f64
    );
    Ok(())
}
