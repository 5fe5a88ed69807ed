//! `pinbridge items export|import` and `pinbridge store copy`: the store as JSON Lines, and a
//! copy from the configured store into another one (sled → PostgreSQL), both over the stream
//! of `store::transfer`, with a progress bar over the items.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::CommandError;
use super::progress;
use crate::cli::StoreAction;
use crate::clock::{Clock, Millis, SystemClock};
use crate::config::Config;
use crate::store::postgres::PgStore;
use crate::store::sled::SledStore;
use crate::store::transfer::{self, TransferError};
use crate::store::{ImportCounts, Store};

/// Connections `store copy` opens to a PostgreSQL destination (it writes one batch at a time).
const COPY_CONNECTIONS: u32 = 2;

pub async fn export(
    store: &dyn Store,
    output: Option<PathBuf>,
    now: Millis,
) -> Result<(), CommandError> {
    let items = store.stats().await.context("counting items")?.items;
    let bar = progress::bar(items, "exporting items");
    let mut out: Box<dyn Write> = match &output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let records = transfer::export(store, &mut *out, now, |n| bar.set_position(n))
        .await
        .map_err(failed)?;
    bar.finish_and_clear();
    if let Some(path) = &output {
        eprintln!("exported {records} records to {}", path.display());
    }
    Ok(())
}

pub async fn import(store: &dyn Store, file: &Path, now: Millis) -> Result<(), CommandError> {
    let input: Box<dyn std::io::BufRead> = if file == Path::new("-") {
        Box::new(BufReader::new(std::io::stdin().lock()))
    } else {
        Box::new(BufReader::new(
            File::open(file).with_context(|| format!("opening {}", file.display()))?,
        ))
    };
    let bar = progress::bar(0, "importing items");
    let counts = transfer::import(
        store,
        input,
        now,
        |header| bar.set_length(header.items),
        |n| bar.set_position(n),
    )
    .await
    .map_err(failed)?;
    bar.finish_and_clear();
    println!("{}", summary("imported", counts));
    Ok(())
}

/// `pinbridge store copy --to URL|DIR [--merge]`.
pub async fn store(config: &Config, action: StoreAction) -> Result<(), CommandError> {
    let StoreAction::Copy { to, merge } = action;
    let from: Arc<dyn Store> = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    let shown = crate::redact::url(&to);
    let dest: Arc<dyn Store> = if to.starts_with("postgres://") || to.starts_with("postgresql://") {
        Arc::new(
            PgStore::connect(&to, COPY_CONNECTIONS)
                .await
                .with_context(|| format!("connecting to the destination {shown}"))?,
        )
    } else {
        let options = crate::store::open::sled_options(&config.store);
        Arc::new(
            SledStore::open_async(PathBuf::from(&to), options, None)
                .await
                .with_context(|| format!("opening the destination store at {shown}"))?,
        )
    };
    let items = from.stats().await.context("counting items")?.items;
    let bar = progress::bar(items, "copying items");
    let result = transfer::copy(
        from.as_ref(),
        dest.as_ref(),
        merge,
        SystemClock.now_ms(),
        |n| bar.set_position(n),
    )
    .await;
    bar.finish_and_clear();
    let closed = (from.close().await, dest.close().await);
    let counts = result.map_err(|e| match e {
        TransferError::NotEmpty { .. } => CommandError::Usage(e.to_string()),
        e => failed(e),
    })?;
    closed.0.context("closing the store")?;
    closed.1.context("closing the destination store")?;
    println!("{} into {shown}", summary("copied", counts));
    Ok(())
}

fn summary(verb: &str, counts: ImportCounts) -> String {
    format!(
        "{verb} {} records ({} already present, left as they were)",
        counts.written, counts.present
    )
}

fn failed(e: TransferError) -> CommandError {
    CommandError::Runtime(anyhow::Error::new(e))
}
