//! `pinbridge poll --source ID [--dry-run]`: fetch one feed or shop now and show what would be
//! pinned. Without `--dry-run` the items are recorded (and jobs queued) exactly as `serve`
//! would. A dry run asks the running service when there is one (it holds the store and has
//! the guarded fetcher), else fetches and reads the store itself; both print one
//! [`PollPreview`].

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::CommandError;
use super::service::segment;
use super::sources::{AdminClient, failed};
use crate::clock::SystemClock;
use crate::config::{Config, SourceSettings};
use crate::http::admin::poll_preview::{PollPreview, Verdict};
use crate::ingest::Ingest;
use crate::item::SourceId;
use crate::routing::ingest_config;
use crate::sources::feed::poller::{self, PollReport};
use crate::sources::feed::{FeedSource, Fetcher};
use crate::store::Store;

pub async fn run(
    config: &Config,
    source_id: &str,
    dry_run: bool,
    server: Option<url::Url>,
) -> Result<(), CommandError> {
    if dry_run && let Some(api) = super::service::running(config, server).await? {
        return remote(&api, source_id).await;
    }
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
    let result = if dry_run {
        PollPreview::of_feed(&feed, store.as_ref())
            .await
            .map(|preview| show(&preview))
            .map_err(|e| CommandError::Runtime(anyhow::anyhow!(e)))
    } else {
        print_state(source_id, store.as_ref()).await?;
        record(config, &feed, store.clone()).await
    };
    store.close().await.context("closing the store")?;
    result
}

/// The dry run done by the running service.
async fn remote(api: &AdminClient, source_id: &str) -> Result<(), CommandError> {
    let path = format!("api/v1/sources/{}/dry-run", segment(source_id));
    let preview: PollPreview = api.post_as(&path).await.map_err(|e| match e {
        super::sources::ApiError::Refused {
            status, message, ..
        } if status.is_client_error() => CommandError::Usage(message),
        other => failed(other),
    })?;
    show(&preview);
    Ok(())
}

async fn print_state(source_id: &str, store: &dyn Store) -> Result<(), CommandError> {
    let state = store
        .source_state(&SourceId::new(source_id))
        .await
        .context("reading the source's state")?;
    println!(
        "{}",
        super::items::source_line(source_id, &state, crate::clock::Clock::now_ms(&SystemClock))
    );
    Ok(())
}

/// What a dry run found, one block per item.
fn show(preview: &PollPreview) {
    let now = crate::clock::Clock::now_ms(&SystemClock);
    let state = preview.polling.as_source_state();
    println!(
        "{}",
        super::items::source_line(&preview.source, &state, now)
    );
    if preview.first_contact {
        println!(
            "first contact with this feed: backfill = \"{}\" applies",
            preview.backfill.as_deref().unwrap_or("none")
        );
    }
    for entry in &preview.items {
        let verdict = match entry.verdict {
            Verdict::Known => "known",
            Verdict::Baseline => "baseline (recorded, not pinned)",
            Verdict::NoImage => "new, no image (skipped)",
            Verdict::New => "NEW → would be pinned",
        };
        println!(
            "{verdict}\n    key    {}\n    title  {}",
            entry.key, entry.title
        );
        if let Some(link) = &entry.link {
            println!("    link   {link}");
        }
        if let Some(image) = &entry.image_url {
            println!("    image  {image}");
        }
    }
    if let Some(listed) = preview.listed {
        println!("{listed} listed by the shop");
    }
    println!(
        "{} item(s), {} would be pinned (dry run: nothing written)",
        preview.items.len(),
        preview.would_pin
    );
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
    let result = if dry_run {
        PollPreview::of_shop(shop, store.as_ref())
            .await
            .map(|preview| show(&preview))
            .map_err(|e| CommandError::Runtime(anyhow::anyhow!(e)))
    } else {
        print_state(source_id, store.as_ref()).await?;
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
