//! Configuration: TOML from a file, `${VAR}` interpolation, and validation that lists every
//! problem with its key path and line.
//!
//! Loading is a pipeline: parse the text (syntax errors carry their line) → substitute
//! variables in every string → deserialize each section, collecting unknown keys and type
//! errors → check the whole (references between sections, regexes, templates) → locate each
//! problem's line. The user sees every problem at once, not the first one.

pub mod env;
mod interpolate;
mod locate;
mod model;
pub mod serde_util;
mod sources;
mod validate;

use std::path::{Path, PathBuf};

pub use model::*;
pub use serde_util::{duration, one_or_many, opt_duration, parse_section, parse_value};
pub use sources::{SourceConfig, SourceSettings};

/// One thing wrong with the configuration, named by its key path (`sources[1].url`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
    /// 1-based line in the file, when it could be located.
    pub line: Option<usize>,
}

impl ConfigProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
            line: None,
        }
    }
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

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
        let mut root: toml::Value = toml::from_str::<toml::Table>(text)
            .map(toml::Value::Table)
            .map_err(|e| ConfigError::Syntax {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut problems = Vec::new();
        interpolate::interpolate_value(&mut root, "", env, &mut problems);
        env::apply(&mut root, &env::vars(env), &mut problems);
        let config = sources::build(root, &mut problems);
        if let Some(config) = &config {
            validate::check(config, &mut problems);
        }
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

    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.common.id == id)
    }
}
