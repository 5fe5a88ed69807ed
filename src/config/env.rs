//! Settings from the environment (12-factor): `PINBRIDGE_SERVER__LISTEN=0.0.0.0:8080` sets
//! `server.listen`, `PINBRIDGE_SOURCES__0__URL=…` sets `sources[0].url`. Applied to the TOML
//! tree before deserialization, so every setting can come from a file, the environment or both
//! (the environment wins).
//!
//! Names: `PINBRIDGE_` + path segments joined by `__`, case-insensitive; a number is an array
//! index (`0` is the first `[[sources]]`; the next free index appends). Only names with `__`
//! are settings, so `PINBRIDGE_CONFIG`, `PINBRIDGE_LOG` and `PINBRIDGE_TOKEN_KEY` are not.
//! Values are TOML when they parse as a number, boolean, array or inline table, else a string;
//! keys that hold secrets, ids, names, URLs and paths are always strings.

use toml::Value;

use super::ConfigProblem;

const PREFIX: &str = "PINBRIDGE_";

/// Keys whose values stay strings even when they look like numbers (`secret = "12345"`).
const STRING_KEYS: [&str; 13] = [
    "token", "secret", "id", "password", "key", "keys", "url", "path", "name", "board", "section",
    "listen", "source",
];

/// The setting variables: names from the process environment, values through `env` (so an
/// injected lookup, as in tests, decides what is seen).
pub fn vars(env: &dyn Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| name.starts_with(PREFIX) && name.contains("__"))
        .filter_map(|name| env(&name).map(|value| (name, value)))
        .collect()
}

/// Apply every `PINBRIDGE_…__…` variable in `vars` to `root`, reporting unusable names.
pub fn apply(root: &mut Value, vars: &[(String, String)], problems: &mut Vec<ConfigProblem>) {
    let mut settings: Vec<(Vec<String>, &str, &str)> = vars
        .iter()
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix(PREFIX)?;
            rest.contains("__").then(|| {
                let path = rest.split("__").map(str::to_ascii_lowercase).collect();
                (path, name.as_str(), value.as_str())
            })
        })
        .collect();
    // Lower indexes first, so `…__0__…` exists before `…__1__…` appends.
    settings.sort_by_key(|s| sort_key(&s.0));
    for (path, name, value) in settings {
        if let Err(message) = set(root, &path, value) {
            problems.push(ConfigProblem::new(name, message));
        }
    }
}

fn sort_key(path: &[String]) -> Vec<(u64, String)> {
    path.iter()
        .map(|s| (s.parse::<u64>().unwrap_or(u64::MAX), s.clone()))
        .collect()
}

fn set(root: &mut Value, path: &[String], raw: &str) -> Result<(), String> {
    let mut node = root;
    for (i, segment) in path.iter().enumerate() {
        if segment.is_empty() {
            return Err("the name has an empty segment (`___` or a trailing `__`)".into());
        }
        let last = i + 1 == path.len();
        let next_is_index = path.get(i + 1).is_some_and(|s| s.parse::<usize>().is_ok());
        let fresh = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Table(toml::Table::new())
            }
        };
        node = match node {
            Value::Table(table) => {
                if last {
                    let value = typed(segment, raw, table.get(segment));
                    table.insert(segment.clone(), value);
                    return Ok(());
                }
                table.entry(segment.clone()).or_insert_with(fresh)
            }
            Value::Array(items) => {
                let index: usize = segment
                    .parse()
                    .map_err(|_| format!("`{segment}` must be an array index here"))?;
                if index > items.len() {
                    return Err(format!(
                        "index {index} skips entries: the array has {} (use {})",
                        items.len(),
                        items.len()
                    ));
                }
                if index == items.len() {
                    items.push(fresh());
                }
                if last {
                    items[index] = typed(segment, raw, None);
                    return Ok(());
                }
                &mut items[index]
            }
            _ => return Err(format!("`{segment}` is inside a value that is not a table")),
        };
    }
    Ok(())
}

/// The TOML value for `raw`: a string for string keys or when the file has a string there,
/// else whatever TOML makes of it.
fn typed(key: &str, raw: &str, existing: Option<&Value>) -> Value {
    let string_key = STRING_KEYS
        .iter()
        .any(|k| key == *k || key.ends_with(&format!("_{k}")));
    if string_key || matches!(existing, Some(Value::String(_))) {
        return Value::String(raw.to_string());
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_keys_and_array_entries_are_set_with_types() {
        let mut root: Value = toml::from_str("[server]\nlisten = \"0.0.0.0:1\"\n").unwrap();
        let mut problems = Vec::new();
        apply(
            &mut root,
            &vars(&[
                ("PINBRIDGE_SERVER__LISTEN", "127.0.0.1:9"),
                ("PINBRIDGE_SOURCES__1__ID", "second"),
                ("PINBRIDGE_SOURCES__0__ID", "1234"),
                ("PINBRIDGE_SOURCES__0__BACKFILL", "all"),
                ("PINBRIDGE_SOURCES__0__PAUSED", "true"),
                ("PINBRIDGE_SYNC__WORKERS", "4"),
                ("PINBRIDGE_ACCOUNTS__0__ACCESS_TOKEN", "987"),
                ("PINBRIDGE_LOG", "debug"),
                ("PINBRIDGE_TOKEN_KEY", "abc"),
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(root["server"]["listen"].as_str(), Some("127.0.0.1:9"));
        assert_eq!(root["sources"][0]["id"].as_str(), Some("1234"));
        assert_eq!(root["sources"][0]["backfill"].as_str(), Some("all"));
        assert_eq!(root["sources"][0]["paused"].as_bool(), Some(true));
        assert_eq!(root["sources"][1]["id"].as_str(), Some("second"));
        assert_eq!(root["sync"]["workers"].as_integer(), Some(4));
        assert_eq!(root["accounts"][0]["access_token"].as_str(), Some("987"));
        assert!(root.get("log").is_none() && root.get("token_key").is_none());
    }

    #[test]
    fn a_gap_in_indexes_is_a_named_problem() {
        let mut root = Value::Table(toml::Table::new());
        let mut problems = Vec::new();
        apply(
            &mut root,
            &vars(&[("PINBRIDGE_ROUTES__2__BOARD", "x")]),
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "PINBRIDGE_ROUTES__2__BOARD");
        assert!(problems[0].message.contains("skips entries"));
    }
}
