//! How each stored value is read back, and the compact on-disk structs of the records every
//! ingest writes (items, jobs).
//!
//! These structs never repeat what the tree key already holds: a job record has no id (its key
//! is the id), an item record no source or dedup key. They are decoupled from the model types
//! on purpose (see `envelope.rs`): the model's serde shapes are for JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::envelope::{self, Body, EnvelopeError, encode_compact};
use crate::item::{DedupKey, SourceId};
use crate::store::pacing::{BoardPace, LinkHolder};
use crate::store::{
    AccountState, ConfigRecord, Job, JobId, JobKind, JobState, LeaseToken, Millis, PinDay,
    PinWatch, SourceState, Target,
};

/// A webhook delivery id's record: when it may be forgotten.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct DeliveryRecord {
    pub keep_until: Millis,
}

/// The ids of a forgotten item's done jobs (in creation order).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ForgottenJobs {
    pub jobs: Vec<String>,
}

/// A value stored in a tree, read back from its envelope. `key` is its tree key.
pub(crate) trait Record: Sized {
    fn read(key: &[u8], raw: &[u8]) -> Result<Self, EnvelopeError>;
}

/// Records whose serde form is plain (no tags, no skipped fields): either layout decodes them.
macro_rules! plain_records {
    ($($t:ty),* $(,)?) => {$(
        impl Record for $t {
            fn read(_: &[u8], raw: &[u8]) -> Result<Self, EnvelopeError> {
                envelope::decode(raw)
            }
        }
    )*};
}

plain_records!(
    SourceState,
    AccountState,
    ConfigRecord,
    BoardPace,
    LinkHolder,
    DeliveryRecord,
    ForgottenJobs,
    PinWatch,
    PinDay
);

/// A job on disk (layout 2): the id is the key.
#[derive(Serialize, Deserialize)]
struct JobRecord {
    source: String,
    item: String,
    route: String,
    account: String,
    board: String,
    section: Option<String>,
    state: StateRecord,
    attempts: u32,
    last_error: Option<String>,
    created: i64,
    updated: i64,
    create_sent: Option<i64>,
    kind: KindRecord,
}

#[derive(Serialize, Deserialize)]
enum StateRecord {
    Pending {
        run_at: i64,
    },
    Leased {
        token: u64,
        until: i64,
        reconcile: bool,
    },
    Retry {
        at: i64,
    },
    Unknown {
        since: i64,
        at: i64,
    },
    Done {
        pin_id: String,
        at: i64,
    },
    Dead {
        error: String,
        at: i64,
    },
}

#[derive(Serialize, Deserialize)]
enum KindRecord {
    Create,
    Update { of: String, pin_id: String },
    Delete { of: String, pin_id: Option<String> },
}

/// A job in the compact layout.
pub(crate) fn encode_job(job: &Job) -> Vec<u8> {
    let state = match &job.state {
        JobState::Pending { run_at } => StateRecord::Pending { run_at: *run_at },
        JobState::Leased {
            token,
            until,
            reconcile,
        } => StateRecord::Leased {
            token: token.0,
            until: *until,
            reconcile: *reconcile,
        },
        JobState::Retry { at } => StateRecord::Retry { at: *at },
        JobState::Unknown { since, at } => StateRecord::Unknown {
            since: *since,
            at: *at,
        },
        JobState::Done { pin_id, at } => StateRecord::Done {
            pin_id: pin_id.clone(),
            at: *at,
        },
        JobState::Dead { error, at } => StateRecord::Dead {
            error: error.clone(),
            at: *at,
        },
    };
    let kind = match &job.kind {
        JobKind::Create => KindRecord::Create,
        JobKind::Update { of, pin_id } => KindRecord::Update {
            of: of.0.clone(),
            pin_id: pin_id.clone(),
        },
        JobKind::Delete { of, pin_id } => KindRecord::Delete {
            of: of.0.clone(),
            pin_id: pin_id.clone(),
        },
    };
    encode_compact(&JobRecord {
        source: job.source.0.clone(),
        item: job.item.0.clone(),
        route: job.target.route.clone(),
        account: job.target.account.clone(),
        board: job.target.board.clone(),
        section: job.target.section.clone(),
        state,
        attempts: job.attempts,
        last_error: job.last_error.clone(),
        created: job.created,
        updated: job.updated,
        create_sent: job.create_sent,
        kind,
    })
}

impl Record for Job {
    fn read(key: &[u8], raw: &[u8]) -> Result<Self, EnvelopeError> {
        let record: JobRecord = match envelope::open(raw)? {
            // Schema 1: the model's own JSON form.
            Body::Json(bytes) => {
                return serde_json::from_slice(bytes)
                    .map_err(|e| EnvelopeError::Decode(e.to_string()));
            }
            body @ Body::Compact(_) => body.decode()?,
        };
        let id = std::str::from_utf8(key)
            .map_err(|_| EnvelopeError::Decode("job key is not text".into()))?;
        Ok(job_from_record(JobId(id.to_string()), record))
    }
}

fn job_from_record(id: JobId, r: JobRecord) -> Job {
    let state = match r.state {
        StateRecord::Pending { run_at } => JobState::Pending { run_at },
        StateRecord::Leased {
            token,
            until,
            reconcile,
        } => JobState::Leased {
            token: LeaseToken(token),
            until,
            reconcile,
        },
        StateRecord::Retry { at } => JobState::Retry { at },
        StateRecord::Unknown { since, at } => JobState::Unknown { since, at },
        StateRecord::Done { pin_id, at } => JobState::Done { pin_id, at },
        StateRecord::Dead { error, at } => JobState::Dead { error, at },
    };
    let kind = match r.kind {
        KindRecord::Create => JobKind::Create,
        KindRecord::Update { of, pin_id } => JobKind::Update {
            of: JobId(of),
            pin_id,
        },
        KindRecord::Delete { of, pin_id } => JobKind::Delete {
            of: JobId(of),
            pin_id,
        },
    };
    Job {
        id,
        source: SourceId(r.source),
        item: DedupKey(r.item),
        target: Target {
            route: r.route,
            account: r.account,
            board: r.board,
            section: r.section,
        },
        state,
        attempts: r.attempts,
        last_error: r.last_error,
        created: r.created,
        updated: r.updated,
        create_sent: r.create_sent,
        kind,
    }
}

/// The source and dedup key an `items` key names.
pub(crate) fn item_identity(key: &[u8]) -> Option<(SourceId, DedupKey)> {
    let mut parts = super::keys::text_parts(key)?;
    if parts.len() != 2 {
        return None;
    }
    let dedup = parts.pop()?;
    let source = parts.pop()?;
    Some((SourceId(source), DedupKey(dedup)))
}

/// Extra template fields as stored (sorted, like the model's map).
pub(crate) type Fields = BTreeMap<String, String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_survives_the_compact_layout_and_json_still_reads() {
        let job = Job {
            id: JobId("0190a1b2-0000-7000-8000-000000000001".into()),
            source: SourceId::new("shop"),
            item: DedupKey::new("id", "7"),
            target: Target {
                route: "0".into(),
                account: "main".into(),
                board: "b".into(),
                section: Some("s".into()),
            },
            state: JobState::Leased {
                token: LeaseToken(9),
                until: 5,
                reconcile: true,
            },
            attempts: 2,
            last_error: Some("HTTP 503".into()),
            created: 1,
            updated: 2,
            create_sent: Some(3),
            kind: JobKind::Delete {
                of: JobId("other".into()),
                pin_id: None,
            },
        };
        let key = job.id.0.as_bytes();
        let compact = encode_job(&job);
        assert_eq!(Job::read(key, &compact).unwrap(), job);
        let json = envelope::encode(&job);
        assert_eq!(Job::read(key, &json).unwrap(), job);
        assert!(
            compact.len() * 2 < json.len(),
            "{} vs {}",
            compact.len(),
            json.len()
        );
    }
}
