//! Writing one attempt's outcome back with its lease token: a Pin made (or found), a link
//! already on the board, a failure (see `failure.rs`), or nothing when the lease was lost.

use super::Engine;
use super::SyncEvent;
use super::failure::Failure;
use crate::store::{Lease, LeaseOutcome, PinRecord};
use crate::sync::template::PinText;

/// How a job attempt ended, before it is written back.
pub(super) enum Outcome {
    Created {
        pin_id: String,
        reconciled: bool,
        /// The Pin's normalised link, for the link index.
        link: Option<String>,
    },
    /// The link is already pinned on the board: done, with that Pin and a note why.
    Duplicate {
        pin_id: String,
        note: String,
    },
    /// An update or delete finished on the Pin `pin_id` (empty when there was none); `note`
    /// says what happened, `link` is set when a fallback made a new Pin.
    Followed {
        pin_id: String,
        note: String,
        link: Option<String>,
    },
    Failed(Failure),
    /// Another worker took the job over before the create was sent; nothing to write.
    LeaseLost,
}

impl Engine {
    /// Run one attempt at the job and record how it ended.
    pub(super) async fn process(&self, lease: Lease) {
        let job_id = lease.job.id.to_string();
        let outcome = if lease.job.kind.is_create() {
            self.attempt(&lease).await
        } else {
            self.follow_attempt(&lease).await
        };
        let now = self.clock.now_ms();
        let written = match outcome {
            Outcome::Created {
                pin_id,
                reconciled,
                link,
            } => {
                let record = PinRecord {
                    link: link.as_deref(),
                    note: None,
                };
                let result = self.store.complete_pin(&lease, &pin_id, record, now).await;
                if matches!(result, Ok(LeaseOutcome::Applied)) {
                    tracing::info!(job = %job_id, pin_id = %pin_id, board = %lease.job.target.board, reconciled, "Pin created.");
                    let _ = self.events.send(SyncEvent::PinCreated {
                        account: lease.job.target.account.clone(),
                        board: lease.job.target.board.clone(),
                        section: lease.job.target.section.clone(),
                        pin_id,
                        title: self.render(&lease).ok().and_then(|t| t.title),
                        link: lease.item.link.clone(),
                        image_url: lease.item.image_url.clone().unwrap_or_default(),
                        reconciled,
                    });
                }
                result
            }
            Outcome::Duplicate { pin_id, note } => {
                tracing::info!(job = %job_id, pin_id = %pin_id, board = %lease.job.target.board, note = %note, "Link already on the board; no second Pin.");
                metrics::counter!("pinbridge_link_duplicates_total", "account" => lease.job.target.account.clone())
                    .increment(1);
                let record = PinRecord {
                    link: None,
                    note: Some(&note),
                };
                self.store.complete_pin(&lease, &pin_id, record, now).await
            }
            Outcome::Followed { pin_id, note, link } => {
                tracing::info!(job = %job_id, kind = lease.job.kind.name(), pin_id = %pin_id, note = %note, "Pin followed its item.");
                metrics::counter!("pinbridge_pins_followed_total", "account" => lease.job.target.account.clone(), "kind" => lease.job.kind.name())
                    .increment(1);
                let record = PinRecord {
                    link: link.as_deref(),
                    note: Some(&note),
                };
                self.store.complete_pin(&lease, &pin_id, record, now).await
            }
            Outcome::Failed(failure) => self.fail(&lease, failure, now).await,
            Outcome::LeaseLost => Ok(LeaseOutcome::LeaseLost),
        };
        match written {
            Ok(LeaseOutcome::Applied) => {}
            Ok(LeaseOutcome::LeaseLost) => {
                tracing::warn!(job = %job_id, "Lease was lost before the outcome was recorded; another worker owns the job.")
            }
            Err(e) => {
                tracing::error!(job = %job_id, error = %e, "Recording a job outcome failed; the lease will expire and the job will be reconciled.")
            }
        }
    }

    pub(super) fn render(&self, lease: &Lease) -> Result<PinText, String> {
        let routes = self.route_table();
        let templates = routes
            .get(&lease.job.target.route)
            .map(|r| &r.templates)
            .unwrap_or(&self.default_templates);
        templates.render(&lease.item)
    }
}
