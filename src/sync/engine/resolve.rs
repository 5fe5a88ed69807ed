//! The board (and section) a job's Pin goes to, by id: looked up by name, or created when the
//! route says `create_missing`.

use super::Engine;
use super::attempt::Step;
use super::outcome::Outcome;
use crate::store::Lease;
use crate::sync::account::AccountRuntime;

/// Where the Pin goes.
pub(super) struct ResolvedBoard {
    pub board_id: String,
    pub section_id: Option<String>,
}

impl Engine {
    /// Resolve the job's board and section on `account`.
    pub(super) async fn resolve_board(
        &self,
        lease: &Lease,
        account: &AccountRuntime,
    ) -> Step<ResolvedBoard> {
        let target = &lease.job.target;
        let create_missing = self
            .route_table()
            .get(&target.route)
            .is_some_and(|r| r.create_missing);
        let board_id = match account
            .boards
            .board_id(&account.client, &target.board, create_missing)
            .await
        {
            Ok(id) => id,
            Err(e) => {
                return Step::Done(Outcome::Failed(
                    self.classify_resolve_error(account, e).await,
                ));
            }
        };
        let section_id = match &target.section {
            Some(section) => match account
                .boards
                .section_id(
                    &account.client,
                    &board_id,
                    &target.board,
                    section,
                    create_missing,
                )
                .await
            {
                Ok(id) => Some(id),
                Err(e) => {
                    return Step::Done(Outcome::Failed(
                        self.classify_resolve_error(account, e).await,
                    ));
                }
            },
            None => None,
        };
        Step::Continue(ResolvedBoard {
            board_id,
            section_id,
        })
    }
}
