//! Page compression: chosen when a store is created, kept for its life.
//!
//! sled compresses every page it writes to its log with zstd when `use_compression` is on, and
//! records the choice in the store's `conf` file; it refuses to open a store with the other
//! choice. So `[store] compression` applies to new stores, and an existing store opens with
//! the choice it was created with (a warning says so when the config asks otherwise; `pinbridge
//! store copy` into a new directory changes it).
//!
//! Level 1 is zstd's fastest: in the engines bench (docs/BENCHMARKS.md, "sled's settings") it
//! took the records from ~1.3 KB to ~0.46 KB per item, as level 3 did, at a smaller cost in
//! rate. In the service it halves both the bytes per item and the webhook acks a second, so it
//! is off unless asked for.

use std::path::Path;

pub use crate::settings::Compression;

/// zstd level sled compresses pages with.
const ZSTD_LEVEL: i32 = 1;

/// `config` with the page compression `compression` (sled's `use_compression` and its level).
pub(crate) fn configure(config: ::sled::Config, compression: Compression) -> ::sled::Config {
    config
        .use_compression(compression.is_on())
        .compression_factor(ZSTD_LEVEL)
}

/// What an existing store at `dir` was created with, from sled's `conf` file (`None`: no store
/// there yet, or a `conf` this build cannot read; sled itself then decides).
pub(crate) fn created_with(dir: &Path) -> Option<Compression> {
    let conf = std::fs::read(dir.join("conf")).ok()?;
    // Text lines `key: value`, then a 4-byte checksum that sled checks itself.
    let text = String::from_utf8_lossy(&conf);
    text.lines()
        .find_map(|line| line.strip_prefix("use_compression: "))
        .and_then(|value| match value.trim() {
            "true" => Some(Compression::Zstd),
            "false" => Some(Compression::Off),
            _ => None,
        })
}

/// The compression to open `dir` with: the store's own when it exists, else `wanted`.
pub(crate) fn to_open_with(dir: &Path, wanted: Compression) -> Compression {
    match created_with(dir) {
        Some(existing) if existing != wanted => {
            tracing::warn!(
                path = %dir.display(),
                "This store was created with compression {}; `[store] compression = \"{}\"` applies to new stores only. Copy it into a new directory (`pinbridge store copy`) to change it.",
                existing.as_str(),
                wanted.as_str(),
            );
            existing
        }
        Some(existing) => existing,
        None => wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(dir: &Path, on: bool) {
        let mut bytes =
            format!("segment_size: 524288\nuse_compression: {on}\nversion: 0.34\n").into_bytes();
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        std::fs::write(dir.join("conf"), bytes).unwrap();
    }

    #[test]
    fn a_new_store_takes_the_configured_choice() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            to_open_with(dir.path(), Compression::Zstd),
            Compression::Zstd
        );
        assert_eq!(to_open_with(dir.path(), Compression::Off), Compression::Off);
    }

    #[test]
    fn an_existing_store_keeps_the_choice_it_was_created_with() {
        let dir = tempfile::tempdir().unwrap();
        conf(dir.path(), false);
        assert_eq!(
            to_open_with(dir.path(), Compression::Zstd),
            Compression::Off
        );
        conf(dir.path(), true);
        assert_eq!(
            to_open_with(dir.path(), Compression::Off),
            Compression::Zstd
        );
    }
}
