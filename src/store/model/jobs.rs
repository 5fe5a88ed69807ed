//! Outbox jobs: their ids, lease tokens, states, and what a lease holder gets and answers.
//! The rules that move a job between states live in `store::transitions`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Millis, Target};
use crate::item::{DedupKey, Item, SourceId};

/// A job's id: sortable by creation time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub String);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fencing token: each lease gets a new, larger one. Writes carrying an old token are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LeaseToken(pub u64);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum JobState {
    /// Ready to run at `run_at`.
    Pending {
        #[schema(value_type = i64)]
        run_at: Millis,
    },
    /// A worker holds it until `until`; after that it may be reclaimed.
    Leased {
        #[schema(value_type = u64)]
        token: LeaseToken,
        #[schema(value_type = i64)]
        until: Millis,
        /// The job was `unknown` when leased: look for the Pin before creating one.
        reconcile: bool,
    },
    /// Failed transiently; runs again at `at`.
    Retry {
        #[schema(value_type = i64)]
        at: Millis,
    },
    /// The create was sent and its outcome is not known (timeout, reset, 5xx after send).
    /// At `at` the job is claimed again, for reconcile first.
    Unknown {
        #[schema(value_type = i64)]
        since: Millis,
        #[schema(value_type = i64)]
        at: Millis,
    },
    Done {
        pin_id: String,
        #[schema(value_type = i64)]
        at: Millis,
    },
    Dead {
        error: String,
        #[schema(value_type = i64)]
        at: Millis,
    },
}

impl JobState {
    pub fn name(&self) -> &'static str {
        match self {
            JobState::Pending { .. } => "pending",
            JobState::Leased { .. } => "leased",
            JobState::Retry { .. } => "retry",
            JobState::Unknown { .. } => "unknown",
            JobState::Done { .. } => "done",
            JobState::Dead { .. } => "dead",
        }
    }
}

/// What a job does on Pinterest. Records written before updates and deletes existed have no
/// kind and are creates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum JobKind {
    /// Make the item's Pin on the target.
    #[default]
    Create,
    /// Bring the text of the Pin `pin_id`, made by the create job `of`, in line with the item.
    Update {
        #[schema(value_type = String)]
        of: JobId,
        pin_id: String,
    },
    /// Delete the Pin the create job `of` made. `pin_id` is known when the create had finished
    /// when the delete was queued; `None` when it was still in flight: the delete then waits
    /// for it and deletes only a Pin that create made (see `store::follow`).
    Delete {
        #[schema(value_type = String)]
        of: JobId,
        pin_id: Option<String>,
    },
}

impl JobKind {
    pub fn is_create(&self) -> bool {
        matches!(self, JobKind::Create)
    }

    /// `create`, `update` or `delete`.
    pub fn name(&self) -> &'static str {
        match self {
            JobKind::Create => "create",
            JobKind::Update { .. } => "update",
            JobKind::Delete { .. } => "delete",
        }
    }

    /// The create job an update or delete follows.
    pub fn follows(&self) -> Option<&JobId> {
        match self {
            JobKind::Create => None,
            JobKind::Update { of, .. } | JobKind::Delete { of, .. } => Some(of),
        }
    }
}

/// An outbox job: one Pin for one item on one target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    #[schema(value_type = String)]
    pub id: JobId,
    #[schema(value_type = String)]
    pub source: SourceId,
    /// The item's dedup key.
    #[schema(value_type = String)]
    pub item: DedupKey,
    pub target: Target,
    pub state: JobState,
    /// Attempts that counted (a 429 does not count).
    pub attempts: u32,
    pub last_error: Option<String>,
    #[schema(value_type = i64)]
    pub created: Millis,
    #[schema(value_type = i64)]
    pub updated: Millis,
    /// When the latest create of this job was sent (milliseconds since the Unix epoch),
    /// written durably just before sending. After an ambiguous create, reconcile pages the
    /// board's Pins back to this moment. Absent in records written before it existed: their
    /// creates can be no older than the job, so `created` bounds them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub create_sent: Option<Millis>,
    /// Create (the default, also for records older than this field), update or delete.
    #[serde(default, skip_serializing_if = "JobKind::is_create")]
    pub kind: JobKind,
}

impl Job {
    /// The earliest moment this job's unresolved create may have been sent.
    pub fn sent_since(&self) -> Millis {
        self.create_sent.unwrap_or(self.created)
    }
}

/// A job leased to a worker. Hand it back to `complete`, `retry`, `mark_unknown` or `dead`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub job: Job,
    pub item: Item,
    pub token: LeaseToken,
    pub until: Millis,
    /// The job was `unknown`: search the board for the Pin before creating a second one.
    pub reconcile: bool,
}

/// Whether a lease holder's write took effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseOutcome {
    Applied,
    /// The lease expired and was reclaimed, or the job moved on: the write was ignored.
    LeaseLost,
}

/// How `retry` should count the failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A real failure: it uses up an attempt.
    Counts,
    /// Rate limited or waiting for the account: it does not.
    Free,
}

/// Filters for listing jobs.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    pub source: Option<SourceId>,
    /// A state name as in [`JobState::name`].
    pub state: Option<String>,
    pub limit: usize,
}
