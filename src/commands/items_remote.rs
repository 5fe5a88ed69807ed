//! `pinbridge items` while the service runs: the same listings and repairs through its admin
//! API (the service holds the store). The lines printed are the ones `items.rs` prints from the
//! store itself.

use super::CommandError;
use super::items::{job_line, source_line};
use super::service::segment;
use super::sources::{AdminClient, ApiError, failed};
use crate::cli::ItemsAction;
use crate::clock::{Clock, SystemClock};
use crate::http::admin::answers::{Forgotten, ItemAnswer, ItemList, JobList, Retried};
use crate::http::admin::config_answers::SourceList;
use crate::store::{ItemDisposition, Job, SourceState};

pub async fn run(api: &AdminClient, action: ItemsAction) -> Result<(), CommandError> {
    let now = SystemClock.now_ms();
    match action {
        ItemsAction::List {
            source,
            state,
            limit,
        } => {
            let sources: SourceList = api.get_as("api/v1/sources").await.map_err(failed)?;
            for listed in &sources.sources {
                if source.as_deref().is_none_or(|s| s == listed.id) {
                    let polled = SourceState {
                        last_poll: listed.last_poll,
                        next_poll: listed.next_poll,
                        error_count: listed.error_count,
                        last_error: listed.last_error.clone(),
                        parked: listed.parked.clone(),
                        ..SourceState::default()
                    };
                    println!("# {}", source_line(&listed.id, &polled, now));
                }
            }
            let mut query = format!("limit={limit}");
            if let Some(source) = &source {
                query.push_str(&format!("&source={}", segment(source)));
            }
            if let Some(state) = state {
                query.push_str(&format!("&state={}", state.name()));
                let jobs: JobList = api
                    .get_as(&format!("api/v1/jobs?{query}"))
                    .await
                    .map_err(failed)?;
                for job in jobs.jobs {
                    println!("{}", job_line(&job, now));
                }
                return Ok(());
            }
            let items: ItemList = api
                .get_as(&format!("api/v1/items?{query}"))
                .await
                .map_err(failed)?;
            for item in items.items {
                println!("{}", item_line(&item));
            }
        }
        ItemsAction::Show { source, key } => {
            let path = format!("api/v1/items/{}/{}", segment(&source), segment(&key));
            let item: ItemAnswer = api.get_as(&path).await.map_err(not_found)?;
            let jobs = item.jobs.clone();
            let shown = ItemAnswer {
                jobs: Vec::new(),
                ..item
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&shown).unwrap_or_default()
            );
            for job in jobs {
                println!("{}", job_line(&job, now));
            }
        }
        ItemsAction::Retry { jobs, all_dead } => retry(api, jobs, all_dead).await?,
        ItemsAction::Forget { source, key } => {
            let path = format!("api/v1/items/{}/{}/forget", segment(&source), segment(&key));
            let _: Forgotten = api.post_as(&path).await.map_err(not_found)?;
            println!("forgot {key} in {source}: it will be treated as new if it comes again");
        }
        ItemsAction::Export { .. } | ItemsAction::Import { .. } => {
            return Err(CommandError::Usage(
                "export and import open the store itself, not the admin API".into(),
            ));
        }
    }
    Ok(())
}

/// `source  key  disposition  title`, as from the store.
fn item_line(item: &ItemAnswer) -> String {
    let disposition = match &item.disposition {
        ItemDisposition::Queued => "queued".to_string(),
        ItemDisposition::Skipped { reason } => format!("skipped: {reason}"),
    };
    let title = match item.payload_compacted {
        Some(_) => "(payload compacted)",
        None => item.title.as_str(),
    };
    format!("{}\t{}\t{}\t{}", item.source, item.key, disposition, title)
}

/// A 404 is the user's mistake (exit 2) and says which item; anything else as usual.
fn not_found(error: ApiError) -> CommandError {
    match error {
        ApiError::Refused {
            status, message, ..
        } if status == reqwest::StatusCode::NOT_FOUND => CommandError::Usage(message),
        other => failed(other),
    }
}

async fn retry(api: &AdminClient, jobs: Vec<String>, all_dead: bool) -> Result<(), CommandError> {
    if jobs.is_empty() && all_dead {
        let done: Retried = api
            .post_as("api/v1/dead-letters/retry")
            .await
            .map_err(failed)?;
        println!(
            "{} job(s) will be retried by the running service",
            done.retried
        );
        return Ok(());
    }
    if jobs.is_empty() {
        return Err(CommandError::Usage(
            "name one or more job ids, or pass --all-dead".into(),
        ));
    }
    let mut refused = Vec::new();
    let mut revived = 0;
    for id in &jobs {
        let answer: Result<Job, ApiError> = api
            .post_as(&format!("api/v1/jobs/{}/retry", segment(id)))
            .await;
        match answer {
            Ok(_) => {
                revived += 1;
                println!("job {id}: back to pending");
            }
            Err(ApiError::Refused {
                status, message, ..
            }) if status.is_client_error() => {
                println!("job {id}: not retried ({message})");
                refused.push(format!("{id} ({message})"));
            }
            Err(other) => return Err(failed(other)),
        }
    }
    println!("{revived} job(s) will be retried by the running service");
    if !refused.is_empty() {
        return Err(CommandError::Runtime(anyhow::anyhow!(
            "{} of {} job(s) not retried: {}",
            refused.len(),
            jobs.len(),
            refused.join(", ")
        )));
    }
    Ok(())
}
