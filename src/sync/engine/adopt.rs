//! First contact with a board: before the first Pin on an account's board, the Pins already
//! there are adopted into the link index (`sync::adopt`). Then, since the link gate ran before
//! the board was known, the job's own link is looked up once more: held by an adopted Pin, the
//! job completes as its duplicate instead of pinning.

use super::Engine;
use super::attempt::Step;
use super::failure::Failure;
use super::outcome::Outcome;
use crate::store::Lease;
use crate::sync::account::AccountRuntime;
use crate::sync::adopt::{AdoptError, adopt_board};
use crate::sync::board_pacing::adopted_note;

impl Engine {
    /// Adopt the job's board if this is the first contact, then stop the job if its link is
    /// held by an adopted Pin.
    pub(super) async fn adopt_first_contact(
        &self,
        lease: &Lease,
        account: &AccountRuntime,
        board_id: &str,
        link: Option<&str>,
    ) -> Step<()> {
        let target = &lease.job.target;
        let transient = |what: &str, e: String| {
            Step::Done(Outcome::Failed(Failure::Transient {
                error: format!("{what}: {e}"),
                retry_after: None,
            }))
        };
        let wanted = self
            .route_table()
            .get(&target.route)
            .is_none_or(|r| r.adopt_existing);
        let mut adopted = account.boards.adopted().await;
        if wanted && !adopted.contains(&target.board) {
            match self
                .store
                .board_adopted(&target.account, &target.board)
                .await
            {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let now = self.clock.now_ms();
                    let store = self.store.as_ref();
                    let found = adopt_board(
                        store,
                        &account.client,
                        &target.account,
                        &target.board,
                        board_id,
                        now,
                    )
                    .await;
                    match found {
                        Ok(found) => {
                            tracing::info!(account = %target.account, board = %target.board,
                            pins = found.pins, links = found.recorded,
                            "Adopted the Pins already on the board; their links will not be pinned again.")
                        }
                        Err(AdoptError::Api(e)) => {
                            drop(adopted);
                            let failure = self.classify_api_error(account, e, false).await;
                            return Step::Done(Outcome::Failed(failure));
                        }
                        Err(AdoptError::Store(e)) => {
                            return transient("adopting the board's Pins", e.to_string());
                        }
                    }
                }
                Err(e) => return transient("reading the board's adoption", e.to_string()),
            }
            adopted.insert(target.board.clone());
        }
        drop(adopted);
        let Some(link) = link else {
            return Step::Continue(());
        };
        match self
            .store
            .link_holder(&target.account, &target.board, link)
            .await
        {
            Ok(Some(holder)) if holder.is_adopted() => {
                let pin_id = holder.pin_id.unwrap_or_default();
                Step::Done(Outcome::Duplicate {
                    note: adopted_note(&pin_id),
                    pin_id,
                })
            }
            Ok(_) => Step::Continue(()),
            Err(e) => transient("board pacing", e.to_string()),
        }
    }
}
