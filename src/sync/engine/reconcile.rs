//! After an unclear create, look for the Pin on the board before creating again: found means
//! done, absent means create (or give up after the last attempt), undecided means look again
//! later and never create on a guess.

use super::Engine;
use super::admit::Admitted;
use super::attempt::Step;
use super::failure::Failure;
use super::outcome::Outcome;
use crate::store::Lease;
use crate::sync::reconcile::{Search, find_existing_pin};

impl Engine {
    /// Look for the Pin an earlier attempt may have made on `board_id`.
    pub(super) async fn reconcile(
        &self,
        lease: &Lease,
        admitted: &Admitted<'_>,
        board_id: &str,
    ) -> Step<()> {
        let account = admitted.account;
        match find_existing_pin(
            &account.client,
            board_id,
            &admitted.text,
            lease.job.sent_since(),
            &self.settings.reconcile,
        )
        .await
        {
            Ok(Search::Found(pin_id)) => Step::Done(Outcome::Created {
                pin_id,
                reconciled: true,
                link: admitted.link.clone(),
            }),
            Ok(Search::Absent) if lease.job.attempts >= self.settings.max_attempts => {
                Step::Done(Outcome::Failed(Failure::Permanent {
                    error: format!(
                        "gave up after {} attempts (the Pin is not on the board): {}",
                        lease.job.attempts,
                        lease.job.last_error.as_deref().unwrap_or("unknown error")
                    ),
                }))
            }
            Ok(Search::Absent) => Step::Continue(()),
            Ok(Search::Undecided(why)) => Step::Done(Outcome::Failed(Failure::Undecided {
                error: format!("could not tell whether the Pin was made: {why}"),
            })),
            Err(e) => Step::Done(Outcome::Failed(
                self.classify_api_error(account, e, false).await,
            )),
        }
    }
}
