//! Configuration: TOML from a file, `${VAR}` interpolation, and validation that lists every
//! problem with its key path and line.
//!
//! Loading is a pipeline: parse the text (syntax errors carry their line) → substitute
//! variables in every string → deserialize each section, collecting unknown keys and type
//! errors → check the whole (references between sections, regexes, templates) → locate each
//! problem's line. The user sees every problem at once, not the first one.

mod analytics;
pub mod env;
mod interpolate;
mod locate;
mod model;
mod route_checks;
mod sources;
mod validate;

use std::path::{Path, PathBuf};

pub use analytics::AnalyticsConfig;
pub use locate::line_of;
pub use model::*;
// The shared settings vocabulary lives in a leaf module that the source and sync settings use
// directly; re-exported here so `config::…` paths keep working.
pub use crate::settings::ConfigProblem;
pub use crate::settings::serde_util::{
    self, duration, one_or_many, opt_duration, parse_section, parse_value,
};
pub use sources::{SourceConfig, SourceSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path} has {} problem(s):\n{}", problems.len(), list(problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<ConfigProblem>,
    },
}

fn list(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole configuration.
#[derive(Debug, Default)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub pinterest: PinterestConfig,
    pub accounts: Vec<AccountConfig>,
    pub sources: Vec<SourceConfig>,
    pub routes: Vec<RouteConfig>,
    pub sync: SyncConfig,
    pub fetch: FetchConfig,
    pub analytics: AnalyticsConfig,
    /// The interpolated TOML tree this config was built from. The live configuration
    /// (`crate::live`) merges runtime records into it, validates the result with [`Config::from_tree`],
    /// and compares entries to tell which sources changed.
    pub tree: Tree,
}

/// A config's interpolated TOML tree. It holds secrets in plain text, so `Debug` shows only
/// its size.
#[derive(Clone, Default, PartialEq)]
pub struct Tree(pub toml::Table);

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tree({} top-level keys)", self.0.len())
    }
}

impl Config {
    /// Read and validate the file at `path`, taking variables from the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path, &|name| std::env::var(name).ok())
    }

    /// `load`, or with no file at the default place, the environment alone (containers).
    pub fn load_or_env(path: &Path, explicit: bool) -> Result<Config, ConfigError> {
        if explicit || path.exists() {
            return Self::load(path);
        }
        Self::from_toml("", path, &|name| std::env::var(name).ok())
    }

    /// Parse and validate config text. `env` looks up variables (injected for tests).
    pub fn from_toml(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let (root, mut problems) = Self::tree_from_toml(text, path, env)?;
        let config = Self::from_tree(root, &mut problems);
        if problems.is_empty()
            && let Some(config) = config
        {
            return Ok(config);
        }
        for problem in &mut problems {
            problem.line = locate::line_of(text, &problem.path);
        }
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// The first half of [`Config::from_toml`]: parse, substitute `${VAR}`s and apply
    /// `PINBRIDGE_…__…` variables, giving the tree and the problems met so far.
    pub fn tree_from_toml(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(toml::Table, Vec<ConfigProblem>), ConfigError> {
        let mut root: toml::Value = toml::from_str::<toml::Table>(text)
            .map(toml::Value::Table)
            .map_err(|e| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut problems = Vec::new();
        interpolate::interpolate_value(&mut root, "", env, &mut problems);
        env::apply(&mut root, &env::vars(env), &mut problems);
        // Parsed as a table and only ever changed inside: still a table.
        let root = match root {
            toml::Value::Table(table) => table,
            _ => toml::Table::new(),
        };
        Ok((root, problems))
    }

    /// The second half: type every section and check the whole, adding to `problems` (key
    /// paths, no lines). `None` only when the tree cannot be typed at all.
    pub fn from_tree(tree: toml::Table, problems: &mut Vec<ConfigProblem>) -> Option<Config> {
        let mut config = sources::build(toml::Value::Table(tree.clone()), problems)?;
        validate::check(&config, problems);
        config.tree = Tree(tree);
        Some(config)
    }

    /// The User-Agent of every source fetch that sets none of its own: pinbridge and its
    /// version, and `fetch.contact` (else `server.public_url`) when there is one.
    pub fn fetch_user_agent(&self) -> String {
        // A bare origin reads better without the slash `Url` adds: `(+https://pins.example.com)`.
        let public_url = self.server.public_url.as_ref().map(|url| match url.path() {
            "/" if url.query().is_none() => url.as_str().trim_end_matches('/').to_string(),
            _ => url.to_string(),
        });
        let contact = self.fetch.contact.as_deref().or(public_url.as_deref());
        crate::sources::feed::fetch::user_agent_with_contact(contact)
    }

    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.common.id == id)
    }
}
