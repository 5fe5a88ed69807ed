//! The last steps of an attempt: extend the lease (which also records when the create is
//! sent), then send the create and note the account works again.

use super::Engine;
use super::attempt::Step;
use super::failure::Failure;
use super::outcome::Outcome;
use crate::pinterest::model::PinCreate;
use crate::store::{Lease, LeaseOutcome};
use crate::sync::account::AccountRuntime;

impl Engine {
    /// Keep the lease for the create, or stop if another worker took the job over.
    pub(super) async fn extend_lease(&self, lease: &Lease) -> Step<()> {
        // The waits before (limiter, board lookups, reconcile) may have outlived the lease; if
        // another worker reclaimed the job, sending this create could make a second Pin.
        // Extending fails exactly when the lease was taken over. The same durable write records
        // when the create is sent: a reconcile after it pages the board back to that moment.
        let sent = self.clock.now_ms();
        let until = sent + self.settings.lease.as_millis() as i64;
        match self.store.sending(lease, until, sent).await {
            Ok(LeaseOutcome::Applied) => Step::Continue(()),
            Ok(LeaseOutcome::LeaseLost) => Step::Done(Outcome::LeaseLost),
            Err(e) => Step::Done(Outcome::Failed(Failure::Transient {
                error: format!("could not extend the lease: {e}"),
                retry_after: None,
            })),
        }
    }

    /// Send the create. `link` is the Pin's normalised link, for the link index.
    pub(super) async fn create(
        &self,
        account: &AccountRuntime,
        pin: &PinCreate,
        link: Option<String>,
    ) -> Outcome {
        match account.client.create_pin(pin).await {
            Ok(created) => {
                account.write_succeeded();
                account.clear_403s();
                self.release_account(account);
                if account.problem().is_some() {
                    self.persist_problem(account, None).await;
                }
                Outcome::Created {
                    pin_id: created.id,
                    reconciled: false,
                    link,
                }
            }
            Err(e) => Outcome::Failed(self.classify_api_error(account, e, true).await),
        }
    }
}
