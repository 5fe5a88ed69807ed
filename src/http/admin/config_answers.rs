//! The admin API's request and answer bodies for sources, routes and the runtime configuration
//! (the item and job bodies are in `answers.rs`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::answers::Problem;
use crate::http::SourceInfo;
use crate::live::effective::Origin;
use crate::live::status::Reload;
use crate::live::{RouteView, SourceView};
use crate::store::SourceState;

/// How a source is doing, as the poller last left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceHealth {
    Ok,
    Failing,
    Parked,
    Paused,
}

/// One source: what is configured and how polling it goes. Times are Unix milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceAnswer {
    pub id: String,
    /// feed, webhook, etsy or shopify.
    pub kind: String,
    pub paused: bool,
    pub state: SourceHealth,
    pub last_poll: Option<i64>,
    pub next_poll: Option<i64>,
    pub last_success: Option<i64>,
    /// Failed polls in a row.
    pub error_count: u32,
    /// The last poll's error, redacted.
    pub last_error: Option<String>,
    /// Why the source is parked (redacted), when it is.
    pub parked: Option<String>,
    /// Where the source is defined (absent in a process without live configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// The `[[sources]]` entry as JSON, as stored (a read-modify-write client sends it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
}

impl SourceAnswer {
    pub fn new(info: &SourceInfo, polled: &SourceState) -> Self {
        let state = if info.paused {
            SourceHealth::Paused
        } else if polled.parked.is_some() {
            SourceHealth::Parked
        } else if polled.error_count > 0 {
            SourceHealth::Failing
        } else {
            SourceHealth::Ok
        };
        Self {
            id: info.id.clone(),
            kind: info.kind.clone(),
            paused: info.paused,
            state,
            last_poll: polled.last_poll,
            next_poll: polled.next_poll,
            last_success: polled.last_success,
            error_count: polled.error_count,
            last_error: polled.last_error.as_deref().map(crate::redact::error),
            parked: polled.parked.as_deref().map(crate::redact::error),
            origin: None,
            settings: None,
        }
    }

    /// A source of the live configuration: with its origin and settings. The settings go out
    /// as stored, query and all: this is the authenticated interface that `pinbridge sources
    /// export` and read-modify-write clients use, and a redacted URL written back would break
    /// the feed. Human-facing views (status page, CLI listings, logs, stored errors) redact.
    pub fn live(source: &SourceView, polled: &SourceState) -> Self {
        let info = SourceInfo {
            id: source.id.clone(),
            kind: source.kind.clone(),
            paused: source.paused,
        };
        Self {
            origin: Some(source.origin),
            settings: Some(source.settings.clone()),
            ..Self::new(&info, polled)
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceList {
    pub sources: Vec<SourceAnswer>,
}

/// One `[[sources]]` or `[[routes]]` entry as JSON, with exactly the keys of the TOML entry;
/// checked with the config file's own validation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Entry(pub Value);

/// `POST /sources/import`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportBody {
    /// `[[sources]]` entries as JSON.
    #[schema(value_type = Vec<Object>)]
    pub sources: Vec<Value>,
    /// Check only; save nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportAnswer {
    /// Ids added (or, with `dry_run`, that would be).
    pub added: Vec<String>,
    /// Ids skipped because the id or the feed URL exists.
    pub existing: Vec<String>,
    /// Always empty in a 200 answer.
    pub problems: Vec<Problem>,
    pub dry_run: bool,
}

/// What `DELETE /sources/{id}` does with the source's unfinished jobs.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// `finish` lets them run; `cancel` moves them to the dead letter. Required when the
    /// source has unfinished jobs.
    #[param(inline, value_type = Option<QueuedJobs>)]
    pub queued: Option<String>,
}

/// A choice for a deleted source's unfinished jobs.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueuedJobs {
    Finish,
    Cancel,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceDeleted {
    pub deleted: String,
    /// Jobs moved to the dead letter.
    pub cancelled: usize,
    /// Jobs left to finish.
    pub finishing: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteAnswer {
    pub name: String,
    pub origin: Origin,
    /// The `[[routes]]` entry as JSON.
    #[schema(value_type = Object)]
    pub settings: Value,
}

impl RouteAnswer {
    pub fn new(route: &RouteView) -> Self {
        Self {
            name: route.name.clone(),
            origin: route.origin,
            settings: route.settings.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteList {
    pub routes: Vec<RouteAnswer>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RouteDeleted {
    pub deleted: String,
}

/// What started the last reload.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReloadTrigger {
    Start,
    Sighup,
    Watch,
    Api,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReloadAnswer {
    /// Unix milliseconds.
    pub at: i64,
    pub ok: bool,
    pub trigger: ReloadTrigger,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConfigStatus {
    /// 1 at start, one more for every configuration put in force.
    pub generation: u64,
    pub last_reload: ReloadAnswer,
}

impl ConfigStatus {
    pub fn new(generation: u64, reload: &Reload) -> Self {
        use crate::live::status::Trigger;
        let trigger = match reload.trigger {
            Trigger::Start => ReloadTrigger::Start,
            Trigger::Sighup => ReloadTrigger::Sighup,
            Trigger::Watch => ReloadTrigger::Watch,
            Trigger::Api => ReloadTrigger::Api,
        };
        Self {
            generation,
            last_reload: ReloadAnswer {
                at: reload.at,
                ok: reload.ok,
                trigger,
                problems: Problem::all(&reload.problems),
            },
        }
    }
}
