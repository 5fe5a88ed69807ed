//! Whether an attempt may go ahead: before any lookup, the account exists, is not held (it
//! needs attention) and is not rate limited, the item has an image and renders, and board pacing lets it through (spacing, one
//! Pin per link per board); just before the create, the daily cap and the write rate limit.

use super::Engine;
use super::attempt::Step;
use super::failure::Failure;
use super::outcome::Outcome;
use super::resolve::ResolvedBoard;
use crate::pinterest::model::{MediaSource, PinCreate};
use crate::store::Lease;
use crate::sync::account::{AccountRuntime, DailyCap};
use crate::sync::board_pacing::Gate;
use crate::sync::link_index::normalise_link;
use crate::sync::quota;
use crate::sync::template::PinText;

/// An attempt let through: its account, and the Pin's content.
pub(super) struct Admitted<'a> {
    pub account: &'a AccountRuntime,
    pub image_url: String,
    pub text: PinText,
    /// The Pin's normalised link, for the link index.
    pub link: Option<String>,
}

impl Admitted<'_> {
    /// The create request for the resolved board.
    pub fn into_pin(self, board: ResolvedBoard) -> PinCreate {
        PinCreate {
            board_id: board.board_id,
            board_section_id: board.section_id,
            title: self.text.title,
            description: self.text.description,
            link: self.text.link,
            alt_text: self.text.alt_text,
            media_source: MediaSource::ImageUrl {
                url: self.image_url,
            },
        }
    }
}

impl Engine {
    /// The account's checks, for every job kind: it is configured, not held, not blocked.
    pub(super) async fn admit_account<'a>(&'a self, lease: &Lease) -> Step<&'a AccountRuntime> {
        let target = &lease.job.target;
        let Some(account) = self.accounts.get(&target.account) else {
            return Step::Done(Outcome::Failed(Failure::Permanent {
                error: format!("account `{}` is not configured", target.account),
            }));
        };
        // With a shared store, what other replicas recorded (block, day's count) counts too.
        quota::refresh(self.store.as_ref(), account).await;
        let now = self.clock.now_ms();
        // A held account's jobs wait here, before any call to Pinterest.
        if let Some(wait) = self.held_wait(account, now).await {
            return Step::Done(Outcome::Failed(wait));
        }
        if let Some(until) = account.blocked_until().filter(|&t| t > now) {
            return Step::Done(Outcome::Failed(Failure::Wait {
                at: until,
                error: "account is rate limited".into(),
            }));
        }
        Step::Continue(account)
    }

    /// The checks before any lookup: account, block, content, board pacing.
    pub(super) async fn admit<'a>(&'a self, lease: &Lease) -> Step<Admitted<'a>> {
        let account = match self.admit_account(lease).await {
            Step::Continue(account) => account,
            Step::Done(outcome) => return Step::Done(outcome),
        };
        let now = self.clock.now_ms();
        let Some(image_url) = lease.item.image_url.clone() else {
            return Step::Done(Outcome::Failed(Failure::Permanent {
                error: "the item has no image".into(),
            }));
        };
        let text = match self.render(lease) {
            Ok(text) => text,
            Err(error) => return Step::Done(Outcome::Failed(Failure::Permanent { error })),
        };
        let link = text.link.as_deref().map(normalise_link);
        match self
            .pacing()
            .gate(self.store.as_ref(), lease, link.as_deref(), now)
            .await
        {
            Ok(Gate::Go) => {}
            Ok(Gate::Duplicate { pin_id, note }) => {
                return Step::Done(Outcome::Duplicate { pin_id, note });
            }
            Ok(Gate::Wait { at, reason }) => {
                return Step::Done(Outcome::Failed(Failure::Wait { at, error: reason }));
            }
            Err(e) => {
                return Step::Done(Outcome::Failed(Failure::Transient {
                    error: format!("board pacing: {e}"),
                    retry_after: None,
                }));
            }
        }
        Step::Continue(Admitted {
            account,
            image_url,
            text,
            link,
        })
    }

    /// The checks just before the create: the account's daily cap (reserving today's slot) and
    /// its write rate limit.
    pub(super) async fn admit_write(&self, account: &AccountRuntime) -> Step<()> {
        match quota::reserve_daily(self.store.as_ref(), account, self.clock.now_ms()).await {
            DailyCap::Full { until } => {
                return Step::Done(Outcome::Failed(Failure::Wait {
                    at: until,
                    error: format!(
                        "account `{}` reached its daily cap of {} Pins; waiting for the next UTC day",
                        account.name,
                        account.status(until).daily_cap
                    ),
                }));
            }
            // A shared store counted it in its quota row (`quota.rs`); rewriting the account
            // record on every create would race other replicas' writes to it (tokens).
            DailyCap::Reserved { .. } if self.store.shared() => {}
            DailyCap::Reserved { day, sent } => self.persist_day(account, day, sent).await,
        }
        self.admit_write_rate(account).await
    }

    /// The account's write rate limit (every write: creates, updates, deletes).
    pub(super) async fn admit_write_rate(&self, account: &AccountRuntime) -> Step<()> {
        if let Some(at) =
            quota::until_write_allowed(self.store.as_ref(), account, &self.clock).await
        {
            return Step::Done(Outcome::Failed(Failure::Wait {
                at,
                error: "account is rate limited".into(),
            }));
        }
        Step::Continue(())
    }
}
