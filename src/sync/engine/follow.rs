//! Update and delete jobs: a Pin following its item. Each is one write under the account's
//! checks and write rate limit (no board pacing, no daily Pin cap: it makes no new Pin).
//!
//! - A delete that Pinterest answers 404 is done: the Pin is already gone, which is what was
//!   wanted. A delete queued while its create was in flight waits for that create and deletes
//!   only the Pin it made (`store::follow::delete_target`).
//! - An update answered 404 means the user deleted the Pin on Pinterest: recorded in the note,
//!   never recreated.
//! - An update the app may not make (Pinterest's update is beta; see
//!   `ApiError::update_unavailable`) takes the route's `update_fallback`: `ignore` finishes
//!   with a note, `new_pin` runs the create flow for the job (a new Pin with the new text).
//! - Anything else is classified like a create's failure, except that nothing is ambiguous
//!   in a way that could make a second Pin: an update or a delete may simply be repeated.

use super::Engine;
use super::attempt::Step;
use super::failure::Failure;
use super::outcome::Outcome;
use crate::pinterest::ApiError;
use crate::pinterest::model::PinUpdate;
use crate::settings::UpdateFallback;
use crate::store::follow::{
    DeleteTarget, NOTE_ALREADY_GONE, NOTE_DELETED, NOTE_DELETED_ON_PINTEREST, NOTE_UPDATED,
    delete_target,
};
use crate::store::{JobKind, Lease};
use crate::sync::account::AccountRuntime;

impl Engine {
    /// One try at an update or delete job.
    pub(super) async fn follow_attempt(&self, lease: &Lease) -> Outcome {
        let account = match self.admit_account(lease).await {
            Step::Continue(account) => account,
            Step::Done(outcome) => return outcome,
        };
        match &lease.job.kind {
            JobKind::Update { pin_id, .. } => self.update(lease, account, pin_id).await,
            kind @ JobKind::Delete { of, .. } => {
                let create = match self.store.job(of).await {
                    Ok(create) => create,
                    Err(e) => {
                        return Outcome::Failed(Failure::Transient {
                            error: format!("could not read the create job {of}: {e}"),
                            retry_after: None,
                        });
                    }
                };
                match delete_target(kind, create.as_ref()) {
                    DeleteTarget::Pin(pin_id) => self.delete(account, &pin_id).await,
                    DeleteTarget::Nothing => Outcome::Followed {
                        pin_id: String::new(),
                        note: format!("nothing to delete: the create job {of} made no Pin"),
                        link: None,
                    },
                    DeleteTarget::Wait => Outcome::Failed(Failure::Wait {
                        at: self.clock.now_ms() + self.settings.settle.as_millis() as i64,
                        error: format!("waiting for the create job {of} to finish first"),
                    }),
                }
            }
            JobKind::Create => Outcome::Failed(Failure::Permanent {
                error: "a create job reached the update/delete path".into(),
            }),
        }
    }

    async fn update(&self, lease: &Lease, account: &AccountRuntime, pin_id: &str) -> Outcome {
        let text = match self.render(lease) {
            Ok(text) => text,
            Err(error) => return Outcome::Failed(Failure::Permanent { error }),
        };
        if let Step::Done(outcome) = self.admit_write_rate(account).await {
            return outcome;
        }
        let update = PinUpdate {
            title: text.title,
            description: text.description,
            link: text.link,
            alt_text: text.alt_text,
        };
        match account.client.update_pin(pin_id, &update).await {
            Ok(pin) => {
                self.wrote(account).await;
                Outcome::Followed {
                    pin_id: pin.id,
                    note: NOTE_UPDATED.into(),
                    link: None,
                }
            }
            Err(ApiError::NotFound { .. }) => Outcome::Followed {
                pin_id: pin_id.to_string(),
                note: NOTE_DELETED_ON_PINTEREST.into(),
                link: None,
            },
            Err(e) if e.update_unavailable() => self.update_fallback(lease, e).await,
            Err(e) => Outcome::Failed(self.classify_api_error(account, e, false).await),
        }
    }

    /// The route's fallback when the app may not update Pins.
    async fn update_fallback(&self, lease: &Lease, refused: ApiError) -> Outcome {
        let fallback = self
            .route_table()
            .get(&lease.job.target.route)
            .map(|r| r.update_fallback)
            .unwrap_or_default();
        tracing::warn!(job = %lease.job.id, error = %refused, ?fallback, "Pinterest refused the Pin update; the route's fallback applies.");
        match fallback {
            UpdateFallback::Ignore => Outcome::Followed {
                pin_id: match &lease.job.kind {
                    JobKind::Update { pin_id, .. } => pin_id.clone(),
                    _ => String::new(),
                },
                note: format!(
                    "update not available to this app ({refused}); update_fallback = \"ignore\": the Pin keeps its old text"
                ),
                link: None,
            },
            UpdateFallback::NewPin => match self.attempt(lease).await {
                Outcome::Created { pin_id, link, .. } => Outcome::Followed {
                    pin_id,
                    note: format!(
                        "update not available to this app ({refused}); update_fallback = \"new_pin\": made a new Pin"
                    ),
                    link,
                },
                other => other,
            },
        }
    }

    async fn delete(&self, account: &AccountRuntime, pin_id: &str) -> Outcome {
        if let Step::Done(outcome) = self.admit_write_rate(account).await {
            return outcome;
        }
        match account.client.delete_pin(pin_id).await {
            Ok(()) => {
                self.wrote(account).await;
                Outcome::Followed {
                    pin_id: pin_id.to_string(),
                    note: NOTE_DELETED.into(),
                    link: None,
                }
            }
            Err(ApiError::NotFound { .. }) => Outcome::Followed {
                pin_id: pin_id.to_string(),
                note: NOTE_ALREADY_GONE.into(),
                link: None,
            },
            Err(e) => Outcome::Failed(self.classify_api_error(account, e, false).await),
        }
    }

    /// A write went through: the account works.
    async fn wrote(&self, account: &AccountRuntime) {
        account.write_succeeded();
        account.clear_403s();
        self.release_account(account);
        if account.problem().is_some() {
            self.persist_problem(account, None).await;
        }
    }
}
