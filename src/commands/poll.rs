//! `pinbridge poll --source ID [--dry-run]`: fetch one feed now and show what would be pinned.
//! Without `--dry-run` the items are recorded (and jobs queued) exactly as `serve` would.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::CommandError;
use crate::clock::SystemClock;
use crate::config::{Config, SourceSettings};
use crate::ingest::Ingest;
use crate::item::SourceId;
use crate::routing::ingest_config;
use crate::sources::feed::poller::{self, PollReport};
use crate::sources::feed::{FeedSource, Fetcher};
use crate::store::Store;

pub async fn run(config: &Config, source_id: &str, dry_run: bool) -> Result<(), CommandError> {
    let Some(source) = config.source(source_id) else {
        let ids: Vec<&str> = config
            .sources
            .iter()
            .map(|s| s.common.id.as_str())
            .collect();
        return Err(CommandError::Usage(format!(
            "no source `{source_id}` in the config (sources: {})",
            ids.join(", ")
        )));
    };
    let settings = match &source.settings {
        SourceSettings::Feed(settings) => settings,
        SourceSettings::Etsy(_) | SourceSettings::Shopify(_) => {
            return shop(config, source_id, dry_run).await;
        }
        _ => {
            return Err(CommandError::Usage(format!(
                "source `{source_id}` is a {} source; only feeds and shops are polled",
                source.common.kind.name()
            )));
        }
    };
    let fetcher =
        Fetcher::with_limits(config.fetch.limits()).with_user_agent(config.fetch_user_agent());
    let feed = FeedSource::new(SourceId::new(source_id), settings.clone(), fetcher)
        .context("setting up the feed")?;
    let store: Arc<dyn Store> = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    let state = store
        .source_state(feed.id())
        .await
        .context("reading the source's state")?;
    println!(
        "{}",
        super::items::source_line(source_id, &state, crate::clock::Clock::now_ms(&SystemClock))
    );
    let result = if dry_run {
        show(&feed, store.as_ref()).await
    } else {
        record(config, &feed, store.clone()).await
    };
    store.close().await.context("closing the store")?;
    result
}

async fn show(feed: &FeedSource, store: &dyn Store) -> Result<(), CommandError> {
    let dry = poller::poll_now(feed, store)
        .await
        .with_context(|| format!("polling {}", feed.display_url()))?;
    if dry.first_contact {
        println!(
            "first contact with this feed: backfill = \"{}\" applies",
            feed.settings().backfill
        );
    }
    let mut would_pin = 0;
    for entry in &dry.items {
        let verdict = if entry.known {
            "known"
        } else if entry.baseline {
            "baseline (recorded, not pinned)"
        } else if entry.item.image_url.is_none() {
            "new, no image (skipped)"
        } else {
            would_pin += 1;
            "NEW → would be pinned"
        };
        println!(
            "{verdict}\n    key    {}\n    title  {}",
            entry.item.key, entry.item.title
        );
        if let Some(link) = &entry.item.link {
            println!("    link   {link}");
        }
        if let Some(image) = &entry.item.image_url {
            println!("    image  {image}");
        }
    }
    println!(
        "{} item(s), {would_pin} would be pinned (dry run: nothing written)",
        dry.items.len()
    );
    Ok(())
}

async fn record(
    config: &Config,
    feed: &FeedSource,
    store: Arc<dyn Store>,
) -> Result<(), CommandError> {
    let ingest = Ingest::new(
        store,
        Arc::new(SystemClock),
        ingest_config(config),
        Arc::new(Notify::new()),
    );
    // A bar while the items are recorded (a backfill can be thousands), made at the first
    // batch so it knows its length, and cleared after the last so the log line is not torn.
    // Hidden off a terminal.
    let bar = std::sync::OnceLock::new();
    let report = poller::poll_cycle_with_progress(
        feed,
        &ingest,
        &CancellationToken::new(),
        &|done, total| {
            let bar = bar.get_or_init(|| super::progress::bar(total as u64, "recording"));
            bar.set_position(done as u64);
            if done >= total {
                bar.finish_and_clear();
            }
        },
    )
    .await
    .context("recording the poll");
    if let Some(bar) = bar.get() {
        bar.finish_and_clear();
    }
    let report = report?;
    match report {
        PollReport::Polled {
            items,
            new,
            changed,
            pinned,
            not_modified,
        } => println!(
            "{items} item(s): {new} new ({pinned} queued to pin), {changed} changed{}",
            if not_modified { " (not modified)" } else { "" }
        ),
        PollReport::Failed { error, error_count } => {
            return Err(CommandError::Runtime(anyhow::anyhow!(
                "poll failed ({error_count} in a row): {error}"
            )));
        }
        PollReport::Cancelled => {}
    }
    Ok(())
}

/// `poll` for an Etsy or Shopify source, through the assembled app (shared budgets, fetcher).
async fn shop(config: &Config, source_id: &str, dry_run: bool) -> Result<(), CommandError> {
    let store: Arc<dyn Store> = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    let app =
        crate::app::App::build_with_store(config, Arc::new(SystemClock), store.clone()).await?;
    let Some(shop) = app.shops().iter().find(|s| s.id().as_str() == source_id) else {
        return Err(CommandError::Usage(format!(
            "source `{source_id}` is paused"
        )));
    };
    let state = store
        .source_state(shop.id())
        .await
        .context("reading the source's state")?;
    println!(
        "{}",
        super::items::source_line(source_id, &state, crate::clock::Clock::now_ms(&SystemClock))
    );
    let result = if dry_run {
        match shop.fetch(store.as_ref()).await {
            Ok(fetched) => {
                for item in &fetched.items {
                    let known = store
                        .item(shop.id(), &item.key)
                        .await
                        .context("reading the store")?
                        .is_some();
                    println!(
                        "{}\n    key    {}\n    title  {}\n    image  {}",
                        if known { "known" } else { "NEW" },
                        item.key,
                        item.title,
                        item.image_url
                            .as_deref()
                            .unwrap_or("(none: would be skipped)")
                    );
                }
                println!(
                    "{} listed, {} fetched in full (dry run: nothing written)",
                    fetched.listed,
                    fetched.items.len()
                );
                Ok(())
            }
            Err(e) => Err(CommandError::Runtime(anyhow::anyhow!(
                "polling {source_id}: {e}"
            ))),
        }
    } else {
        let report =
            crate::sources::shop::poller::poll_cycle(shop, &app.ingest, &CancellationToken::new())
                .await
                .context("recording the poll")?;
        println!("{report:?}");
        Ok(())
    };
    store.close().await.context("closing the store")?;
    result
}
