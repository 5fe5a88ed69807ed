//! `pinbridge items retry`: bring dead-lettered jobs back to pending, one, several or all of
//! them, with a progress bar on a terminal. A job that cannot be retried (unknown id, not
//! dead) is reported and the others still go ahead; the command then exits non-zero.

use anyhow::Context;

use super::CommandError;
use super::progress;
use crate::store::{JobFilter, JobId, JobState, Millis, Store, StoreError};

/// What a bulk retry did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RetryReport {
    pub revived: usize,
    /// Ids that were not retried, each with why.
    pub refused: Vec<(String, String)>,
}

/// The ids to retry: the named ones, or every dead job with `all_dead`.
pub async fn targets(
    store: &dyn Store,
    jobs: Vec<String>,
    all_dead: bool,
) -> Result<Vec<JobId>, CommandError> {
    match (jobs.is_empty(), all_dead) {
        (false, _) => Ok(jobs.into_iter().map(JobId).collect()),
        (true, true) => Ok(store
            .jobs(JobFilter {
                source: None,
                state: Some("dead".into()),
                limit: usize::MAX,
            })
            .await
            .context("listing dead jobs")?
            .into_iter()
            .map(|j| j.id)
            .collect()),
        (true, false) => Err(CommandError::Usage(
            "name one or more job ids, or pass --all-dead".into(),
        )),
    }
}

/// Revive each of `ids`, printing one line per job.
pub async fn retry(
    store: &dyn Store,
    ids: &[JobId],
    now: Millis,
) -> Result<RetryReport, CommandError> {
    let bar = progress::bar(ids.len() as u64, "retrying");
    let mut report = RetryReport::default();
    for id in ids {
        // Only dead jobs are revived; `revive` leaves others as they are, so look first to say so.
        let refused = match store.job(id).await.context("reading a job")? {
            None => Some("no such job".to_string()),
            Some(job) if !matches!(job.state, JobState::Dead { .. }) => {
                Some(format!("is {}, not dead", job.state.name()))
            }
            Some(_) => match store.revive(id, now).await {
                Ok(_) => None,
                Err(StoreError::NotFound { .. }) => Some("no such job".to_string()),
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("retrying job {id}"))
                        .into());
                }
            },
        };
        match refused {
            None => {
                report.revived += 1;
                progress::line(&bar, format!("job {id}: back to pending"));
            }
            Some(why) => {
                progress::line(&bar, format!("job {id}: not retried ({why})"));
                report.refused.push((id.0.clone(), why));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{} job(s) will be retried by the running service",
        report.revived
    );
    if !report.refused.is_empty() {
        return Err(CommandError::Runtime(anyhow::anyhow!(
            "{} of {} job(s) not retried: {}",
            report.refused.len(),
            ids.len(),
            report
                .refused
                .iter()
                .map(|(id, why)| format!("{id} ({why})"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(report)
}
