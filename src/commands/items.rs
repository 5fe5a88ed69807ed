//! `pinbridge items list|show|retry|forget|export|import`: inspect and repair the store. While
//! the service runs it holds the store, so list, show, retry and forget ask its admin API
//! (`items_remote.rs`; `mod.rs` decides); otherwise, and always for export and import
//! (`transfer.rs`), the command opens the store itself (here).

use std::sync::Arc;

use anyhow::Context;

use super::CommandError;
use crate::cli::ItemsAction;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::item::{DedupKey, SourceId};
use crate::store::{ItemFilter, JobFilter, JobState, Store};

/// On the store itself (no service runs).
pub async fn run(config: &Config, action: ItemsAction) -> Result<(), CommandError> {
    let store: Arc<dyn Store> = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    let result = dispatch(config, store.as_ref(), action).await;
    store.close().await.context("closing the store")?;
    result
}

async fn dispatch(
    config: &Config,
    store: &dyn Store,
    action: ItemsAction,
) -> Result<(), CommandError> {
    let now = SystemClock.now_ms();
    match action {
        ItemsAction::List {
            source,
            state,
            limit,
        } => {
            for configured in &config.sources {
                let id = &configured.common.id;
                if source.as_deref().is_none_or(|s| s == id) {
                    let state = store
                        .source_state(&SourceId::new(id))
                        .await
                        .context("reading source state")?;
                    println!("# {}", source_line(id, &state, now));
                }
            }
            if let Some(state) = state {
                let jobs = store
                    .jobs(JobFilter {
                        source: source.map(SourceId::new),
                        state: Some(state.name().to_owned()),
                        limit,
                    })
                    .await
                    .context("listing jobs")?;
                for job in jobs {
                    println!("{}", job_line(&job, now));
                }
                return Ok(());
            }
            let items = store
                .items(ItemFilter {
                    source: source.map(SourceId::new),
                    limit,
                })
                .await
                .context("listing items")?;
            for stored in items {
                let disposition = match &stored.disposition {
                    crate::store::ItemDisposition::Queued => "queued".to_string(),
                    crate::store::ItemDisposition::Skipped { reason } => {
                        format!("skipped: {reason}")
                    }
                };
                let title = match stored.compacted {
                    Some(_) => "(payload compacted)",
                    None => stored.item.title.as_str(),
                };
                println!(
                    "{}\t{}\t{}\t{}",
                    stored.item.source, stored.item.key, disposition, title
                );
            }
        }
        ItemsAction::Show { source, key } => {
            let (source, key) = (SourceId::new(source), DedupKey(key));
            let Some(stored) = store
                .item(&source, &key)
                .await
                .context("reading the item")?
            else {
                return Err(CommandError::Usage(format!(
                    "no item {key} in source {source}"
                )));
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&stored).context("formatting")?
            );
            for job in store
                .item_jobs(&source, &key)
                .await
                .context("reading jobs")?
            {
                println!("{}", job_line(&job, now));
            }
        }
        ItemsAction::Retry { jobs, all_dead } => {
            let ids = super::retry::targets(store, jobs, all_dead).await?;
            super::retry::retry(store, &ids, now).await?;
        }
        ItemsAction::Forget { source, key } => {
            let (source, key) = (SourceId::new(source), DedupKey(key));
            if store
                .forget(&source, &key)
                .await
                .context("forgetting the item")?
            {
                println!("forgot {key} in {source}: it will be treated as new if it comes again");
            } else {
                return Err(CommandError::Usage(format!(
                    "no item {key} in source {source}"
                )));
            }
        }
        ItemsAction::Export { output } => super::transfer::export(store, output, now).await?,
        ItemsAction::Import { file } => super::transfer::import(store, &file, now).await?,
    }
    Ok(())
}

/// One line of a source's polling state: errors, next attempt, parking.
pub fn source_line(id: &str, state: &crate::store::SourceState, now: i64) -> String {
    let when = |t: Option<i64>| match t {
        Some(t) if t > now => format!(
            "in {}",
            humantime::format_duration(std::time::Duration::from_secs(((t - now) / 1000) as u64))
        ),
        Some(t) => format!(
            "{} ago",
            humantime::format_duration(std::time::Duration::from_secs(((now - t) / 1000) as u64))
        ),
        None => "never".into(),
    };
    let mut line = format!(
        "source {id}: last poll {}, next {}, {} error(s) in a row",
        when(state.last_poll),
        when(state.next_poll),
        state.error_count
    );
    if let Some(error) = &state.last_error {
        line.push_str(&format!(", last error: {}", crate::redact::error(error)));
    }
    if let Some(reason) = &state.parked {
        line.push_str(&format!(", PARKED: {}", crate::redact::error(reason)));
    }
    line
}

pub(super) fn job_line(job: &crate::store::Job, now: i64) -> String {
    let detail = match &job.state {
        JobState::Done { pin_id, .. } => format!("pin {pin_id}"),
        JobState::Dead { error, .. } => crate::redact::text(error),
        JobState::Unknown { .. } => crate::redact::text(
            &crate::sync::reconcile::unknown_detail(job, now).unwrap_or_default(),
        ),
        _ => crate::redact::text(job.last_error.as_deref().unwrap_or_default()),
    };
    format!(
        "{}\t{}\t{}\t{}\t{} attempt(s)\t{}",
        job.id,
        job.state.name(),
        job.item,
        job.target.board,
        job.attempts,
        detail
    )
}
