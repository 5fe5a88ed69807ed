//! Live configuration: the running service's sources and routes follow the config file and the
//! records made through the admin API, without a restart.
//!
//! The effective configuration is the file plus the store's runtime records (`effective.rs`).
//! Every change — a SIGHUP or watched file change (`triggers.rs`), an admin API call (its
//! handlers live under `http/admin/`) — builds a new effective configuration, checks it whole
//! with the file's own validation, and only then persists the record and changes the running
//! parts in place (`runtime.rs`). A refused change leaves everything as it was and says why
//! (`status`).

pub mod effective;
pub mod parts;
pub mod runtime;
pub mod sealing;
pub mod start;
pub mod status;
pub mod triggers;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use crate::clock::SharedClock;
use crate::config::{Config, ConfigError, ConfigProblem};
use crate::pinterest::vault::Vault;
use crate::store::{ConfigRecord, ConfigRecordKind, Store, StoreError};

use effective::{Effective, Origin};
use parts::Factory;
use runtime::Runtime;
use status::{Reload, Trigger};

/// Why a change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("the configuration would not be valid")]
    Invalid(Vec<ConfigProblem>),
    #[error("saving the change failed: {0}")]
    Store(#[from] StoreError),
}

/// One change to the runtime records.
#[derive(Debug, Default)]
pub struct Change {
    pub put: Vec<ConfigRecord>,
    pub delete: Vec<(ConfigRecordKind, String)>,
}

/// A source as listed: id, kind, origin, paused and its entry as in TOML (secrets redacted).
#[derive(Clone, Debug)]
pub struct SourceView {
    pub id: String,
    pub kind: String,
    pub origin: Origin,
    pub paused: bool,
    pub settings: Value,
}

/// A route as listed.
#[derive(Clone, Debug)]
pub struct RouteView {
    pub name: String,
    pub origin: Origin,
    pub settings: Value,
}

/// What the HTTP side reads; replaced whole after every applied change.
#[derive(Debug, Default)]
pub struct View {
    pub sources: Vec<SourceView>,
    pub routes: Vec<RouteView>,
}

struct State {
    file_tree: toml::Table,
    records: Vec<ConfigRecord>,
}

/// The live configuration of one running service.
pub struct Live {
    store: Arc<dyn Store>,
    clock: SharedClock,
    runtime: Arc<Runtime>,
    factory: Factory,
    /// The config file re-read on reload; `None` when the service was built from text only.
    file: Option<PathBuf>,
    /// Serialises changes: one is checked, saved and applied at a time.
    state: tokio::sync::Mutex<State>,
    view: RwLock<Arc<View>>,
    status: status::Status,
    /// Seals the secrets of records written (`sealing.rs`); `None`: stored as given.
    vault: Option<Arc<Vault>>,
}

impl Live {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        runtime: Arc<Runtime>,
        factory: Factory,
        file_tree: toml::Table,
        records: Vec<ConfigRecord>,
        effective: &Effective,
        start: Reload,
        vault: Option<Arc<Vault>>,
    ) -> Self {
        let live = Self {
            store,
            clock,
            runtime,
            factory,
            file: None,
            state: tokio::sync::Mutex::new(State { file_tree, records }),
            view: RwLock::new(Arc::new(View::default())),
            status: status::Status::new(start),
            vault,
        };
        live.set_view(effective);
        live
    }

    pub(crate) fn set_file(&mut self, path: PathBuf) {
        self.file = Some(path);
    }

    pub fn file(&self) -> Option<&PathBuf> {
        self.file.as_ref()
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// What is in force now.
    pub fn view(&self) -> Arc<View> {
        self.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `{"generation": n, "last_reload": {…}}`.
    pub fn status_json(&self) -> Value {
        self.status.json()
    }

    /// The generation in force and how the last reload went.
    pub fn status(&self) -> (u64, status::Reload) {
        self.status.snapshot()
    }

    /// A polled source of the configuration in force (paused or not), built with the service's
    /// own guarded fetcher and never started: what a dry-run poll fetches with. `None` when
    /// there is no such source; `Some(None)` when it is not polled (a webhook).
    pub async fn polled_source(&self, id: &str) -> Option<Option<Result<parts::Task, String>>> {
        let state = self.state.lock().await;
        let effective = effective::build(&state.file_tree, &state.records).ok()?;
        let source = effective.config.source(id)?;
        Some(self.factory.task(source))
    }

    /// The records as they are now (for the API's checks).
    pub async fn records(&self) -> Vec<ConfigRecord> {
        self.state.lock().await.records.clone()
    }

    /// Check `change` against the file and the other records; with `persist`, save it and put
    /// it in force. Returns the new view.
    pub async fn change(&self, change: Change, persist: bool) -> Result<Arc<View>, ChangeError> {
        let mut state = self.state.lock().await;
        let mut records = state.records.clone();
        records.retain(|r| {
            !change
                .delete
                .iter()
                .any(|(k, id)| r.kind == *k && r.id == *id)
                && !change.put.iter().any(|p| p.kind == r.kind && p.id == r.id)
        });
        records.extend(change.put.iter().cloned());
        records.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        let effective =
            effective::build(&state.file_tree, &records).map_err(ChangeError::Invalid)?;
        let parts = self
            .factory
            .parts(&effective)
            .map_err(ChangeError::Invalid)?;
        if !persist {
            return Ok(Arc::new(view_of(&effective)));
        }
        let put: Vec<ConfigRecord> = match &self.vault {
            Some(vault) => change.put.iter().map(|r| sealing::seal(vault, r)).collect(),
            None => change.put.clone(),
        };
        self.store
            .write_config_records(&put, &change.delete)
            .await?;
        state.records = records;
        self.runtime.apply(parts).await;
        self.set_view(&effective);
        self.status.applied(Trigger::Api, self.clock.now_ms());
        Ok(self.view())
    }

    /// Re-read the config file and put it in force if it is valid; otherwise keep the running
    /// configuration and record the problems. Returns whether it was applied.
    pub async fn reload(&self, trigger: Trigger) -> bool {
        let Some(path) = self.file.clone() else {
            tracing::warn!("Reload asked for, but the service was not started from a config file.");
            return false;
        };
        let now = self.clock.now_ms();
        let text = match tokio::fs::read_to_string(&path).await {
            Ok(text) => text,
            Err(e) => {
                let problems = vec![ConfigProblem::new(
                    "",
                    format!("cannot read {}: {e}", path.display()),
                )];
                return self.refused(trigger, now, problems);
            }
        };
        let tree = match Config::tree_from_toml(&text, &path, &|name| std::env::var(name).ok()) {
            Ok((tree, problems)) if problems.is_empty() => tree,
            Ok((_, problems)) => return self.refused(trigger, now, located(&text, problems)),
            Err(ConfigError::Syntax { message, .. }) => {
                return self.refused(trigger, now, vec![ConfigProblem::new("", message)]);
            }
            Err(e) => {
                return self.refused(trigger, now, vec![ConfigProblem::new("", e.to_string())]);
            }
        };
        let mut state = self.state.lock().await;
        let built = effective::build(&tree, &state.records)
            .and_then(|effective| Ok((self.factory.parts(&effective)?, effective)));
        let (parts, effective) = match built {
            Ok(built) => built,
            Err(problems) => {
                drop(state);
                return self.refused(trigger, now, located(&text, problems));
            }
        };
        warn_restart_only(&state.file_tree, &tree);
        state.file_tree = tree;
        self.runtime.apply(parts).await;
        self.set_view(&effective);
        self.status.applied(trigger, now);
        tracing::info!(
            generation = self.status.generation(),
            "Configuration reloaded."
        );
        true
    }

    fn refused(&self, trigger: Trigger, now: i64, problems: Vec<ConfigProblem>) -> bool {
        for problem in &problems {
            tracing::error!(problem = %problem, "Configuration reload refused; the running configuration stays.");
        }
        self.status.refused(trigger, now, problems);
        false
    }

    fn set_view(&self, effective: &Effective) {
        *self.view.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(view_of(effective));
    }
}

/// Lines for problems in the file's own entries (API entries are named by id, not found).
fn located(text: &str, mut problems: Vec<ConfigProblem>) -> Vec<ConfigProblem> {
    for problem in &mut problems {
        problem.line = crate::config::line_of(text, &problem.path);
    }
    problems
}

/// Sections other than sources and routes are read once at start.
fn warn_restart_only(old: &toml::Table, new: &toml::Table) {
    for section in ["server", "store", "pinterest", "accounts", "sync"] {
        if old.get(section) != new.get(section) {
            tracing::warn!(
                section,
                "This section changed; it takes effect after a restart."
            );
        }
    }
}

/// Keys whose values are never shown by the API.
const SECRET_KEYS: [&str; 6] = [
    "secret",
    "api_key",
    "shared_secret",
    "access_token",
    "token",
    "password",
];

/// An entry as JSON with secret values replaced by `"[redacted]"`.
pub fn redacted(table: &toml::Table) -> Value {
    let mut value = effective::toml_to_json(&toml::Value::Table(table.clone()));
    redact(&mut value);
    value
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SECRET_KEYS.contains(&key.as_str()) {
                    *v = json!("[redacted]");
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn view_of(effective: &Effective) -> View {
    let tables = effective.source_tables();
    let sources = effective
        .config
        .sources
        .iter()
        .map(|s| SourceView {
            id: s.common.id.clone(),
            kind: s.common.kind.name().to_string(),
            origin: effective
                .source_origins
                .get(&s.common.id)
                .copied()
                .unwrap_or(Origin::File),
            paused: s.common.paused,
            settings: tables
                .get(&s.common.id)
                .map(redacted)
                .unwrap_or(Value::Null),
        })
        .collect();
    let routes = effective
        .routes
        .iter()
        .zip(effective.route_tables())
        .map(|((name, origin), table)| RouteView {
            name: name.clone(),
            origin: *origin,
            settings: redacted(&table),
        })
        .collect();
    View { sources, routes }
}
