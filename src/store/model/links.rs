//! The link index's record: which job (or adopted Pin) holds a normalised link on one board.
//! The rules over it are `store::pacing`'s.

use serde::{Deserialize, Serialize};

use super::{Job, JobId, Millis};
use crate::item::{DedupKey, SourceId};

/// The job holding a link on a board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkHolder {
    pub job: JobId,
    pub source: SourceId,
    pub item: DedupKey,
    /// The Pin, once made.
    pub pin_id: Option<String>,
    pub at: Millis,
}

impl LinkHolder {
    pub fn of(job: &Job, pin_id: Option<String>, now: Millis) -> Self {
        Self {
            job: job.id.clone(),
            source: job.source.clone(),
            item: job.item.clone(),
            pin_id,
            at: now,
        }
    }
}

/// The job id prefix of a link held by a Pin that was on the board before pinbridge pinned to
/// it (adoption): such a holder has no job, only its Pin.
const ADOPTED_PREFIX: &str = "adopted:";

impl LinkHolder {
    /// The holder record of a Pin found on the board by adoption.
    pub fn adopted(pin_id: &str, now: Millis) -> Self {
        Self {
            job: JobId(format!("{ADOPTED_PREFIX}{pin_id}")),
            source: SourceId::new("adopted"),
            item: DedupKey(pin_id.to_string()),
            pin_id: Some(pin_id.to_string()),
            at: now,
        }
    }

    /// Whether this link is held by an adopted Pin (one pinbridge did not make).
    pub fn is_adopted(&self) -> bool {
        self.job.0.starts_with(ADOPTED_PREFIX)
    }
}
