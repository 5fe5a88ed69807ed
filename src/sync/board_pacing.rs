//! Board pacing, before a create: one Pin per link per board, and a route's `min_spacing`
//! between Pins on its board.
//!
//! Both decisions are the store's (`claim_link`, `reserve_board_slot`), so they hold across
//! restarts and replicas. A job that must wait is retried at the time given, without using an
//! attempt; a job whose link is already on the board completes as a duplicate of that Pin.

use std::collections::HashMap;
use std::time::Duration;

use crate::store::{BoardSlot, Lease, LinkClaim, Millis, Store, StoreResult};

/// The note of a job completed by an adopted Pin.
/// Ends with [`NO_SECOND_PIN`](crate::store::follow::NO_SECOND_PIN): the Pin is not
/// pinbridge's, so no update or delete ever follows it.
pub fn adopted_note(pin_id: &str) -> String {
    format!(
        "{} the board already had a Pin with this link (Pin {pin_id}) before pinbridge pinned to it; {}",
        crate::store::follow::ADOPTED,
        crate::store::follow::NO_SECOND_PIN
    )
}

/// Each route's minimum spacing between Pins on its board.
#[derive(Clone, Debug, Default)]
pub struct BoardPacing {
    spacing: HashMap<String, Duration>,
}

/// What the engine does with a job after the pacing checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Make the Pin.
    Go,
    /// The link is already pinned on this board: complete with that Pin, noting why.
    Duplicate { pin_id: String, note: String },
    /// Come back at `at` (does not use an attempt).
    Wait { at: Millis, reason: String },
}

impl BoardPacing {
    /// From `(route name, min_spacing)` pairs.
    pub fn new(routes: impl IntoIterator<Item = (String, Option<Duration>)>) -> Self {
        Self {
            spacing: routes
                .into_iter()
                .filter_map(|(name, s)| s.filter(|s| !s.is_zero()).map(|s| (name, s)))
                .collect(),
        }
    }

    pub fn spacing(&self, route: &str) -> Option<Duration> {
        self.spacing.get(route).copied()
    }

    /// Split a claimed batch into runs the engine may process concurrently. Jobs for one spaced
    /// board share a run, in claim order (the queue's order): run side by side, the later job
    /// could reach the board's slot first and take it, so the board's Pins would not keep
    /// their order. Every other job runs on its own.
    pub fn runs(&self, leases: Vec<Lease>) -> Vec<Vec<Lease>> {
        let mut runs: Vec<Vec<Lease>> = Vec::new();
        let mut by_board: HashMap<(String, String), usize> = HashMap::new();
        for lease in leases {
            let target = &lease.job.target;
            if self.spacing(&target.route).is_none() {
                runs.push(vec![lease]);
                continue;
            }
            let board = (target.account.clone(), target.board.clone());
            match by_board.get(&board) {
                Some(&i) => runs[i].push(lease),
                None => {
                    by_board.insert(board, runs.len());
                    runs.push(vec![lease]);
                }
            }
        }
        runs
    }

    /// The checks for one leased job; `link` is the Pin's normalised link, if it has one.
    pub async fn gate(
        &self,
        store: &dyn Store,
        lease: &Lease,
        link: Option<&str>,
        now: Millis,
    ) -> StoreResult<Gate> {
        let target = &lease.job.target;
        if let Some(link) = link {
            match store.claim_link(lease, link, now).await? {
                LinkClaim::Mine => {}
                LinkClaim::Pinned(holder) => {
                    let pin_id = holder.pin_id.clone().unwrap_or_default();
                    let note = if holder.is_adopted() {
                        adopted_note(&pin_id)
                    } else {
                        format!(
                            "same link already pinned on this board by {}/{} (Pin {pin_id}); {}",
                            holder.source,
                            holder.item,
                            crate::store::follow::NO_SECOND_PIN
                        )
                    };
                    return Ok(Gate::Duplicate { note, pin_id });
                }
                LinkClaim::Busy { holder, at } => {
                    return Ok(Gate::Wait {
                        at,
                        reason: format!(
                            "same link is being pinned on board `{}` by {}/{}; waiting for it",
                            target.board, holder.source, holder.item
                        ),
                    });
                }
            }
        }
        let Some(spacing) = self.spacing(&target.route) else {
            return Ok(Gate::Go);
        };
        match store
            .reserve_board_slot(lease, spacing.as_millis() as i64, now)
            .await?
        {
            BoardSlot::Granted => Ok(Gate::Go),
            BoardSlot::Wait { at } => Ok(Gate::Wait {
                at,
                reason: format!(
                    "board `{}` keeps {} between Pins (min_spacing); waiting for its turn",
                    target.board,
                    humantime::format_duration(spacing)
                ),
            }),
        }
    }
}
