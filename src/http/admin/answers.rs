//! The admin API's request and answer bodies for items, jobs, stats and errors. The handlers
//! build these types and the OpenAPI document is generated from them (`openapi.rs`), so the
//! document says what the handlers really send; `pinbridge items` reads them back as the same
//! types.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::settings::ConfigProblem;
use crate::store::{ItemDisposition, Job, StoredItem};

/// Every refusal: a sentence, and the fields some refusals explain themselves with.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong, as a sentence.
    pub error: String,
    /// A refused configuration change: each problem with its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<Problem>>,
    /// A refused source delete: how many jobs are unfinished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<usize>,
    /// A refused import: always empty (nothing was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added: Option<Vec<String>>,
    /// A refused import: the ids that exist already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<Vec<String>>,
}

/// One problem of a configuration: `sources[blog].url` and what is wrong with it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    pub key: String,
    pub message: String,
    /// 1-based line in the config file, when the problem is in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Problem {
    pub fn all(problems: &[ConfigProblem]) -> Vec<Problem> {
        problems
            .iter()
            .map(|p| Problem {
                key: p.path.clone(),
                message: p.message.clone(),
                line: p.line,
            })
            .collect()
    }
}

/// The filters of the item and job lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this source id.
    pub source: Option<String>,
    /// Only jobs (or items with a job) in this state.
    #[param(inline, value_type = Option<JobStateName>)]
    pub state: Option<String>,
    /// At most this many (default 50, max 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// A job state's name.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStateName {
    Pending,
    Leased,
    Retry,
    Unknown,
    Done,
    Dead,
}

/// One item with its jobs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemAnswer {
    pub source: String,
    /// pinbridge's dedup key for the item.
    pub key: String,
    pub title: String,
    pub link: Option<String>,
    pub image_url: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub first_seen: i64,
    pub last_seen: i64,
    pub disposition: ItemDisposition,
    /// When retention (`[store] keep_payloads`) dropped the item's payload (milliseconds since
    /// the Unix epoch): `title`, `link` and `image_url` are empty from then on, while its key,
    /// fingerprint, jobs and Pins stay. Absent while the item keeps its payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_compacted: Option<i64>,
    pub jobs: Vec<Job>,
    /// The Pins pinbridge made for the item and what became of them since (created, updated,
    /// deleted), read from its jobs.
    pub pins: Vec<crate::store::PinFate>,
}

impl ItemAnswer {
    pub fn new(stored: &StoredItem, jobs: Vec<Job>) -> Self {
        Self {
            source: stored.item.source.to_string(),
            key: stored.item.key.to_string(),
            title: stored.item.title.clone(),
            link: stored.item.link.clone(),
            image_url: stored.item.image_url.clone(),
            first_seen: stored.first_seen,
            last_seen: stored.last_seen,
            disposition: stored.disposition.clone(),
            payload_compacted: stored.compacted,
            pins: crate::store::pins_of(&jobs),
            jobs,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ItemList {
    pub items: Vec<ItemAnswer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    pub jobs: Vec<Job>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Forgotten {
    /// Always true: an unknown item is a 404.
    pub forgotten: bool,
}

/// A replayed job: the old job's id and the new pending job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Replayed {
    pub replayed: String,
    pub job: Job,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Retried {
    /// How many dead jobs went back to pending.
    pub retried: usize,
}
