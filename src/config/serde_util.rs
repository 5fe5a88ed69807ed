//! Small serde helpers shared by every settings type.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use super::ConfigProblem;

/// Durations written as `"15m"`, `"1h 30m"`, `"500ms"` (humantime) or a number of seconds.
pub mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(Duration::from_secs(s)),
            Raw::Text(t) => humantime::parse_duration(t.trim()).map_err(|e| {
                serde::de::Error::custom(format!(
                    "`{t}` is not a duration ({e}); write it like \"15m\", \"1h\" or \"30s\""
                ))
            }),
        }
    }

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// The same for `Option<Duration>`.
pub mod opt_duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

/// A string or a list of strings (`secret = "x"` or `secret = ["new", "old"]`).
pub mod one_or_many {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v,
        })
    }
}

/// Deserialize one section of the config (already interpolated) into `T`, reporting every
/// unknown key and any type error as a [`ConfigProblem`] under `path` (e.g. `sources[2]`).
///
/// Kind-specific settings (a feed's, a webhook's) use this on the keys their kind owns, so each
/// module keeps its own typed settings and the user still gets one list of problems.
pub fn parse_section<T: DeserializeOwned>(
    table: toml::Table,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let value = toml::Value::Table(table);
    let result: Result<T, _> = serde_ignored::deserialize(value, |p| unknown.push(p.to_string()));
    for key in unknown {
        problems.push(ConfigProblem::new(join(path, &key), "unknown key"));
    }
    match result {
        Ok(t) => Some(t),
        Err(e) => {
            problems.push(ConfigProblem::new(path.to_string(), e.to_string()));
            None
        }
    }
}

/// Join a path and a key path the way users read them: `sources[0].url`.
pub fn join(path: &str, key: &str) -> String {
    match (path.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (_, true) => path.to_string(),
        _ if key.starts_with('[') => format!("{path}{key}"),
        _ => format!("{path}.{key}"),
    }
}
