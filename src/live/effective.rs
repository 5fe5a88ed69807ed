//! The effective configuration: the config file's tree with the runtime records merged in,
//! typed and checked by the same code as the file ([`Config::from_tree`]).
//!
//! API sources and routes are appended after the file's entries, so the file's indexes (and its
//! problem paths, `sources[2].url`) stay as written; problems about an API entry are renamed to
//! its id or name (`sources[blog].url`, `routes[main].board`). Runtime records are never
//! `${VAR}`-interpolated: an API caller must not be able to read the process environment.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::config::{Config, ConfigProblem};
use crate::store::{ConfigRecord, ConfigRecordKind};

/// Where a source or route is defined.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    File,
    Api,
}

/// A checked effective configuration and where each entry came from.
pub struct Effective {
    pub config: Config,
    /// Source id → origin.
    pub source_origins: HashMap<String, Origin>,
    /// Route name (its `name`, or `routes[i]`) → origin, in order.
    pub routes: Vec<(String, Origin)>,
}

impl Effective {
    /// Each source's entry as merged (`paused` overrides applied), by id.
    pub fn source_tables(&self) -> HashMap<String, toml::Table> {
        entries(&self.config.tree.0, "sources")
            .into_iter()
            .filter_map(|t| Some((t.get("id")?.as_str()?.to_string(), t)))
            .collect()
    }

    /// Each route's entry, in order.
    pub fn route_tables(&self) -> Vec<toml::Table> {
        entries(&self.config.tree.0, "routes")
    }
}

fn entries(tree: &toml::Table, key: &str) -> Vec<toml::Table> {
    match tree.get(key) {
        Some(toml::Value::Array(items)) => {
            items.iter().filter_map(|v| v.as_table().cloned()).collect()
        }
        _ => Vec::new(),
    }
}

/// Merge `records` into the file's `tree` and check the result. Problems carry key paths.
pub fn build(
    file: &toml::Table,
    records: &[ConfigRecord],
) -> Result<Effective, Vec<ConfigProblem>> {
    let mut problems = Vec::new();
    let mut tree = file.clone();
    let file_sources = entries(file, "sources");
    let file_routes = entries(file, "routes");
    if file.get("sources").is_some_and(|v| !v.is_array())
        || file.get("routes").is_some_and(|v| !v.is_array())
    {
        // The file itself is wrong; from_tree says how.
        let config = Config::from_tree(tree, &mut problems);
        return match config {
            Some(_) if problems.is_empty() => Err(vec![ConfigProblem::new(
                "sources",
                "must be an array of tables",
            )]),
            _ => Err(problems),
        };
    }

    let mut sources: Vec<toml::Value> = file_sources.iter().cloned().map(Into::into).collect();
    let mut routes: Vec<toml::Value> = file_routes.iter().cloned().map(Into::into).collect();
    let mut api_sources = Vec::new();
    let mut api_routes = Vec::new();
    for record in records {
        let path = match record.kind {
            ConfigRecordKind::Source => format!("sources[{}]", record.id),
            ConfigRecordKind::Route => format!("routes[{}]", record.id),
            ConfigRecordKind::PauseOverride => continue,
        };
        match record_table(&record.body, &path, &mut problems) {
            Some(table) if record.kind == ConfigRecordKind::Source => {
                api_sources.push(record.id.clone());
                sources.push(table.into());
            }
            Some(table) => {
                api_routes.push(record.id.clone());
                routes.push(table.into());
            }
            None => {}
        }
    }
    let overrides: HashMap<&str, bool> = records
        .iter()
        .filter(|r| r.kind == ConfigRecordKind::PauseOverride)
        .filter_map(|r| Some((r.id.as_str(), paused_of(&r.body)?)))
        .collect();
    for source in &mut sources {
        if let Some(table) = source.as_table_mut()
            && let Some(paused) = table
                .get("id")
                .and_then(|v| v.as_str())
                .and_then(|id| overrides.get(id))
        {
            table.insert("paused".into(), toml::Value::Boolean(*paused));
        }
    }
    if !sources.is_empty() {
        tree.insert("sources".into(), toml::Value::Array(sources));
    }
    if !routes.is_empty() {
        tree.insert("routes".into(), toml::Value::Array(routes));
    }
    let config = Config::from_tree(tree, &mut problems);
    let rename = |path: String| {
        let path = rename_index(&path, "sources", file_sources.len(), &api_sources);
        rename_index(&path, "routes", file_routes.len(), &api_routes)
    };
    let problems: Vec<ConfigProblem> = problems
        .into_iter()
        .map(|mut p| {
            p.path = rename(std::mem::take(&mut p.path));
            p
        })
        .collect();
    match config {
        Some(config) if problems.is_empty() => {
            let mut source_origins: HashMap<String, Origin> = file_sources
                .iter()
                .filter_map(|t| Some((t.get("id")?.as_str()?.to_string(), Origin::File)))
                .collect();
            source_origins.extend(api_sources.iter().map(|id| (id.clone(), Origin::Api)));
            let routes = config
                .routes
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let origin = if i < file_routes.len() {
                        Origin::File
                    } else {
                        Origin::Api
                    };
                    (crate::routing::route_name(i, r.name.as_deref()), origin)
                })
                .collect();
            Ok(Effective {
                config,
                source_origins,
                routes,
            })
        }
        _ if problems.is_empty() => Err(vec![ConfigProblem::new("", "the configuration is empty")]),
        _ => Err(problems),
    }
}

/// `{"paused": true}` → `true`.
fn paused_of(body: &str) -> Option<bool> {
    serde_json::from_str::<Json>(body)
        .ok()?
        .get("paused")?
        .as_bool()
}

/// A record's JSON body as a TOML table, reporting what TOML cannot hold.
pub fn record_table(
    body: &str,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<toml::Table> {
    let json: Json = match serde_json::from_str(body) {
        Ok(json) => json,
        Err(e) => {
            problems.push(ConfigProblem::new(path, format!("not valid JSON: {e}")));
            return None;
        }
    };
    match json_to_toml(&json, path, problems) {
        Some(toml::Value::Table(table)) => Some(table),
        Some(_) => {
            problems.push(ConfigProblem::new(path, "must be a JSON object"));
            None
        }
        None => None,
    }
}

/// JSON → TOML. `null` has no TOML form: it is reported (leave the key out instead).
pub fn json_to_toml(
    json: &Json,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<toml::Value> {
    Some(match json {
        Json::Null => {
            problems.push(ConfigProblem::new(
                path,
                "null is not a value here: leave the key out",
            ));
            return None;
        }
        Json::Bool(b) => toml::Value::Boolean(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => toml::Value::Integer(i),
            (None, Some(f)) => toml::Value::Float(f),
            (None, None) => {
                problems.push(ConfigProblem::new(path, "number out of range"));
                return None;
            }
        },
        Json::String(s) => toml::Value::String(s.clone()),
        Json::Array(items) => toml::Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| json_to_toml(v, &format!("{path}[{i}]"), problems))
                .collect(),
        ),
        Json::Object(map) => toml::Value::Table(
            map.iter()
                .filter_map(|(k, v)| {
                    let value = json_to_toml(v, &crate::settings::join(path, k), problems)?;
                    Some((k.clone(), value))
                })
                .collect(),
        ),
    })
}

/// TOML → JSON, for listing entries. Datetimes become their text.
pub fn toml_to_json(value: &toml::Value) -> Json {
    match value {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(f) => Json::from(*f),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(items) => Json::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Json::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

/// `sources[7].url` → `sources[blog].url` when index 7 is the API source `blog`.
fn rename_index(path: &str, section: &str, file_count: usize, api_ids: &[String]) -> String {
    let Some(rest) = path.strip_prefix(section).and_then(|r| r.strip_prefix('[')) else {
        return path.to_string();
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return path.to_string();
    };
    match index
        .parse::<usize>()
        .ok()
        .and_then(|i| i.checked_sub(file_count))
        .and_then(|i| api_ids.get(i))
    {
        Some(id) => format!("{section}[{id}]{tail}"),
        None => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> toml::Table {
        let (tree, problems) =
            Config::tree_from_toml(text, std::path::Path::new("t.toml"), &|_| None).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        tree
    }

    const FILE: &str = r#"
[[accounts]]
name = "main"
access_token = "t"

[[sources]]
id = "hook"
kind = "webhook"
preset = "shopify"
secret = "s3cret-value-long-enough"
storefront_url = "https://shop.example.com"

[[routes]]
source = "*"
board = "Blog"
"#;

    fn source(id: &str, url: &str) -> ConfigRecord {
        ConfigRecord {
            kind: ConfigRecordKind::Source,
            id: id.into(),
            body: format!(r#"{{"id":"{id}","kind":"feed","url":"{url}","interval":"30m"}}"#),
        }
    }

    #[test]
    fn api_sources_are_appended_and_checked_like_the_file() {
        let tree = file(FILE);
        let effective = build(&tree, &[source("blog", "https://example.com/feed")]).unwrap();
        assert_eq!(effective.config.sources.len(), 2);
        assert_eq!(effective.source_origins["blog"], Origin::Api);
        assert_eq!(effective.source_origins["hook"], Origin::File);
        assert_eq!(
            effective.routes,
            vec![("routes[0]".to_string(), Origin::File)]
        );

        let problems = build(&tree, &[source("blog", "ftp://example.com/feed")])
            .err()
            .expect("an ftp feed is refused");
        assert!(
            problems
                .iter()
                .any(|p| p.path.starts_with("sources[blog].url")),
            "{problems:?}"
        );
    }

    #[test]
    fn pause_overrides_apply_to_any_origin() {
        let tree = file(FILE);
        let pause = ConfigRecord {
            kind: ConfigRecordKind::PauseOverride,
            id: "hook".into(),
            body: r#"{"paused":true}"#.into(),
        };
        let effective = build(&tree, &[pause]).unwrap();
        assert!(effective.config.sources[0].common.paused);
        assert_eq!(
            effective.source_tables()["hook"]["paused"],
            toml::Value::Boolean(true)
        );
    }

    #[test]
    fn nulls_and_unknown_keys_are_named() {
        let tree = file(FILE);
        let record = ConfigRecord {
            kind: ConfigRecordKind::Source,
            id: "blog".into(),
            body: r#"{"id":"blog","kind":"feed","url":"https://e.com/f","intervall":"5m","backfill":null}"#
                .into(),
        };
        let problems = build(&tree, &[record]).err().unwrap();
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"sources[blog].backfill"), "{paths:?}");
        assert!(paths.contains(&"sources[blog].intervall"), "{paths:?}");
    }

    #[test]
    fn the_kept_tree_does_not_print_its_secrets() {
        let mut problems = Vec::new();
        let config = Config::from_tree(file(FILE), &mut problems).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-value-long-enough"), "{shown}");
        assert_eq!(
            config.tree.0["sources"][0]["secret"].as_str(),
            Some("s3cret-value-long-enough")
        );
    }

    #[test]
    fn index_renaming_only_touches_api_entries() {
        let ids = vec!["blog".to_string()];
        assert_eq!(
            rename_index("sources[1].url", "sources", 1, &ids),
            "sources[blog].url"
        );
        assert_eq!(
            rename_index("sources[0].url", "sources", 1, &ids),
            "sources[0].url"
        );
        assert_eq!(rename_index("routes[1]", "sources", 1, &ids), "routes[1]");
    }
}
