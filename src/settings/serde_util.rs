//! Small serde helpers shared by every settings type.

use serde::de::DeserializeOwned;

use super::problem::ConfigProblem;

/// Durations written as `"15m"`, `"1h 30m"`, `"500ms"` (humantime) or a number of seconds.
pub mod duration {
    // Named imports, not `super::*`: a glob would also pull in the sibling helper modules.
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

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
    use std::time::Duration;

    use serde::Deserializer;

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

/// A duration that can be switched off: `"off"` (None) or a duration as in [`duration`].
pub mod duration_or_off {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Text(t) if t.trim().eq_ignore_ascii_case("off") => Ok(None),
            Raw::Seconds(s) => Ok(Some(Duration::from_secs(s))),
            Raw::Text(t) => humantime::parse_duration(t.trim()).map(Some).map_err(|e| {
                serde::de::Error::custom(format!(
                    "`{t}` is not a duration ({e}); write it like \"90d\" or \"12h\", or \"off\""
                ))
            }),
        }
    }
}

/// A string or a list of strings (`secret = "x"` or `secret = ["new", "old"]`).
pub mod one_or_many {
    use serde::{Deserialize, Deserializer};

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
    parse_value(toml::Value::Table(table), path, problems)
}

/// [`parse_section`] for any TOML value.
pub fn parse_value<T: DeserializeOwned>(
    value: toml::Value,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let mut on_unknown = |p: serde_ignored::Path<'_>| unknown.push(format_path(&p));
    let ignored = serde_ignored::Deserializer::new(value, &mut on_unknown);
    let result: Result<T, _> = serde_path_to_error::deserialize(ignored);
    for key in unknown {
        problems.push(ConfigProblem::new(join(path, &key), "unknown key"));
    }
    match result {
        Ok(t) => Some(t),
        Err(e) => {
            let at = format_error_path(e.path());
            problems.push(ConfigProblem::new(join(path, &at), e.inner().to_string()));
            None
        }
    }
}

/// `sources.0.url` as users read it: `sources[0].url`.
fn format_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", format_path(parent)),
        Path::Map { parent, key } => join(&format_path(parent), key),
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => format_path(parent),
    }
}

fn format_error_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => out = join(&out, key),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
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
