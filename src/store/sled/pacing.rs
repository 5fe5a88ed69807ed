//! Pacing on sled: board slots, the link index, and `complete_pin` (job, link and board in one
//! transaction). The rules are `store::pacing`'s; this file only reads and writes records.

use super::kv::transaction::Transactional;

use super::Inner;
use super::envelope::encode;
use super::jobs::put_job;
use super::trees::{self, io, tx_get};
use crate::store::pacing::{self, BoardPace};
use crate::store::{
    BoardSlot, Job, Lease, LeaseOutcome, LinkClaim, LinkHolder, Millis, PinRecord, StoreResult,
    transitions,
};

fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(part);
}

/// `board_pace` key: account then board, length-prefixed.
pub(crate) fn board_key(account: &str, board: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + account.len() + board.len());
    push_part(&mut out, account.as_bytes());
    push_part(&mut out, board.as_bytes());
    out
}

/// `links` key: the board key then the link.
pub(crate) fn link_key(account: &str, board: &str, link: &str) -> Vec<u8> {
    let mut out = board_key(account, board);
    push_part(&mut out, link.as_bytes());
    out
}

pub(crate) fn reserve_board_slot(
    inner: &Inner,
    lease: &Lease,
    spacing_ms: i64,
    now: Millis,
) -> StoreResult<BoardSlot> {
    let target = &lease.job.target;
    let key = board_key(&target.account, &target.board);
    let tree = &inner.trees.board_pace;
    inner.with_quarantine(|| {
        tree.transaction(|pace_tree| {
            let mut pace: BoardPace =
                tx_get(pace_tree, trees::BOARD_PACE, &key)?.unwrap_or_default();
            let slot = pace.reserve(&lease.job.id, spacing_ms, now);
            pace_tree.insert(key.as_slice(), encode(&pace))?;
            Ok(slot)
        })
    })
}

pub(crate) fn board_last_pin(
    inner: &Inner,
    account: &str,
    board: &str,
) -> StoreResult<Option<Millis>> {
    let key = board_key(account, board);
    let Some(raw) = inner.trees.board_pace.get(&key).map_err(io)? else {
        return Ok(None);
    };
    let pace: Option<BoardPace> =
        inner
            .trees
            .decode_or_quarantine(&inner.db, trees::BOARD_PACE, &key, raw, inner.now())?;
    Ok(pace.and_then(|p| p.last_pin))
}

pub(crate) fn claim_link(
    inner: &Inner,
    lease: &Lease,
    link: &str,
    now: Millis,
) -> StoreResult<LinkClaim> {
    let target = &lease.job.target;
    let key = link_key(&target.account, &target.board, link);
    let t = &inner.trees;
    inner.with_quarantine(|| {
        (&t.links, &t.jobs).transaction(|(links, jobs)| {
            let current: Option<LinkHolder> = tx_get(links, trees::LINKS, &key)?;
            let holder_job: Option<Job> = match &current {
                Some(h) if h.job != lease.job.id => tx_get(jobs, trees::JOBS, h.job.0.as_bytes())?,
                _ => None,
            };
            let (claim, write) = pacing::decide_link(
                current,
                holder_job.as_ref().map(|j| &j.state),
                &lease.job,
                now,
            );
            if let Some(holder) = write {
                links.insert(key.as_slice(), encode(&holder))?;
            }
            Ok(claim)
        })
    })
}

pub(crate) fn link_holder(
    inner: &Inner,
    account: &str,
    board: &str,
    link: &str,
) -> StoreResult<Option<LinkHolder>> {
    let key = link_key(account, board, link);
    match inner.trees.links.get(&key).map_err(io)? {
        None => Ok(None),
        Some(raw) => {
            inner
                .trees
                .decode_or_quarantine(&inner.db, trees::LINKS, &key, raw, inner.now())
        }
    }
}

pub(crate) fn complete_pin(
    inner: &Inner,
    lease: &Lease,
    pin_id: &str,
    record: PinRecord<'_>,
    now: Millis,
) -> StoreResult<LeaseOutcome> {
    let t = &inner.trees;
    let target = &lease.job.target;
    let id = &lease.job.id;
    let board = board_key(&target.account, &target.board);
    let link = record
        .link
        .map(|l| link_key(&target.account, &target.board, l));
    inner.with_quarantine(|| {
        (&t.jobs, &t.jobs_due, &t.links, &t.board_pace, &t.counts).transaction(
            |(jobs, due, links, paces, counts)| {
                let Some(stored) = tx_get::<Job>(jobs, trees::JOBS, id.0.as_bytes())? else {
                    return Ok(LeaseOutcome::LeaseLost);
                };
                let job = match transitions::complete(&stored, lease, pin_id, record.note, now) {
                    Ok(job) => job,
                    Err(outcome) => return Ok(outcome),
                };
                put_job(jobs, due, counts, &stored.state, &job)?;
                if record.note.is_none() {
                    if let Some(key) = &link {
                        let current: Option<LinkHolder> = tx_get(links, trees::LINKS, key)?;
                        if let Some(holder) =
                            pacing::holder_after_pin(current.as_ref(), &job, pin_id, now)
                        {
                            links.insert(key.as_slice(), encode(&holder))?;
                        }
                    }
                    let mut pace: BoardPace =
                        tx_get(paces, trees::BOARD_PACE, &board)?.unwrap_or_default();
                    pace.pinned(now);
                    paces.insert(board.as_slice(), encode(&pace))?;
                }
                Ok(LeaseOutcome::Applied)
            },
        )
    })
}

pub(crate) fn adopt_links(
    inner: &Inner,
    account: &str,
    board: &str,
    pins: &[(String, String)],
    finished: bool,
    now: Millis,
) -> StoreResult<usize> {
    let t = &inner.trees;
    let board_key = board_key(account, board);
    inner.with_quarantine(|| {
        (&t.links, &t.board_pace).transaction(|(links, paces)| {
            let mut recorded = 0;
            for (link, pin_id) in pins {
                let key = link_key(account, board, link);
                let current: Option<LinkHolder> = tx_get(links, trees::LINKS, &key)?;
                if pacing::adopts_over(current.as_ref()) {
                    links.insert(key.as_slice(), encode(&LinkHolder::adopted(pin_id, now)))?;
                    recorded += 1;
                }
            }
            if finished {
                let mut pace: BoardPace =
                    tx_get(paces, trees::BOARD_PACE, &board_key)?.unwrap_or_default();
                pace.adopted.get_or_insert(now);
                paces.insert(board_key.as_slice(), encode(&pace))?;
            }
            Ok(recorded)
        })
    })
}

pub(crate) fn board_adopted(
    inner: &Inner,
    account: &str,
    board: &str,
) -> StoreResult<Option<Millis>> {
    let key = board_key(account, board);
    let Some(raw) = inner.trees.board_pace.get(&key).map_err(io)? else {
        return Ok(None);
    };
    let pace: Option<BoardPace> =
        inner
            .trees
            .decode_or_quarantine(&inner.db, trees::BOARD_PACE, &key, raw, inner.now())?;
    Ok(pace.and_then(|p| p.adopted))
}
