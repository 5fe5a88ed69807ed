//! The board (and section) a job's Pin goes to, by id: looked up by name, or created when the
//! route says `create_missing`.

use super::Engine;
use super::attempt::Step;
use super::outcome::Outcome;
use crate::store::Lease;
use crate::sync::account::AccountRuntime;
use crate::sync::boards::BoardCreation;

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
        let routes = self.route_table();
        let route = routes.get(&target.route);
        let create_missing = route.is_some_and(|r| r.create_missing);
        let creation = BoardCreation {
            allowed: create_missing,
            privacy: route.and_then(|r| r.board_privacy),
            description: route.and_then(|r| r.board_description.as_deref()),
        };
        let board_id = match account
            .boards
            .board_id_or_create(&account.client, &target.board, creation, &account.name)
            .await
        {
            Ok(id) => id,
            Err(e) => {
                return Step::Done(Outcome::Failed(
                    self.classify_resolve_error(account, &target.route, e).await,
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
                        self.classify_resolve_error(account, &target.route, e).await,
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
