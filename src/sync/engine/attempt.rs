//! One try at a job, as the sequence of its steps: admit (account, content, board pacing) →
//! resolve the board → adopt the board's Pins on first contact → reconcile (only after an
//! unclear create) → admit the write (daily cap, rate limit) → extend the lease → create. Each
//! step either hands its result on or ends the attempt with an [`Outcome`].

use super::Engine;
use super::outcome::Outcome;
use crate::store::Lease;

/// What a step of an attempt hands on: carry on with `T`, or the attempt is over.
pub(super) enum Step<T> {
    Continue(T),
    Done(Outcome),
}

/// Unwrap a [`Step`], returning its outcome from the attempt when it is done.
macro_rules! step {
    ($step:expr) => {
        match $step {
            Step::Continue(value) => value,
            Step::Done(outcome) => return outcome,
        }
    };
}

impl Engine {
    /// One try at the job: admit it, resolve the board, reconcile if an earlier create was
    /// unclear, admit the write, keep the lease, create the Pin.
    pub(super) async fn attempt(&self, lease: &Lease) -> Outcome {
        let admitted = step!(self.admit(lease).await);
        let board = step!(self.resolve_board(lease, admitted.account).await);
        let link = admitted.link.as_deref();
        step!(
            self.adopt_first_contact(lease, admitted.account, &board.board_id, link)
                .await
        );
        if lease.reconcile {
            step!(self.reconcile(lease, &admitted, &board.board_id).await);
        }
        let account = admitted.account;
        let link = admitted.link.clone();
        let pin = admitted.into_pin(board);
        step!(self.admit_write(account).await);
        step!(self.extend_lease(lease).await);
        self.create(account, &pin, link).await
    }
}
