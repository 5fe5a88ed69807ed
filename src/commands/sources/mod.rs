//! `pinbridge sources list|add|pause|resume|remove|import|export`: change the sources of a
//! running pinbridge through its admin API (validated and persisted there exactly like the
//! API's own callers), and move subscription lists in and out as OPML.

mod client;

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value, json};

use super::CommandError;
use crate::cli::{QueuedChoice, SourcesAction};
use crate::config::Config;
use crate::sources::opml::{self, OpmlFeed};
pub use client::{AdminClient, ApiError};

pub async fn run(
    config: &Config,
    server: Option<url::Url>,
    action: SourcesAction,
) -> Result<(), CommandError> {
    let token = config.server.admin_token.clone().ok_or_else(|| {
        CommandError::Usage(
            "the admin API needs `server.admin_token` (or PINBRIDGE_SERVER__ADMIN_TOKEN): set the token the running pinbridge uses".into(),
        )
    })?;
    let base = server.unwrap_or_else(|| local_base(config));
    let api = AdminClient::new(base, token);
    match action {
        SourcesAction::List => list(&api).await,
        SourcesAction::Add { kind, id, settings } => add(&api, &kind, id, &settings).await,
        SourcesAction::Pause { id } => switch(&api, &id, "pause").await,
        SourcesAction::Resume { id } => switch(&api, &id, "resume").await,
        SourcesAction::Remove { id, queued } => remove(&api, &id, queued).await,
        SourcesAction::Import { file, dry_run } => import(&api, &file, dry_run).await,
        SourcesAction::Export { output } => export(&api, output.as_deref()).await,
    }
}

/// Where the admin API of the local service is: `server.admin_listen` when set (the public
/// listener then serves no admin API), else `server.listen`.
pub fn local_base(config: &Config) -> url::Url {
    AdminClient::local_base(config.server.admin_listen.unwrap_or(config.server.listen))
}

/// Turn an API refusal into the command's error: a refused change is a usage error (exit 2)
/// and lists every problem; anything else is a runtime failure (exit 1).
pub(super) fn failed(error: ApiError) -> CommandError {
    match error {
        ApiError::Refused {
            status,
            message,
            problems,
            ..
        } if status.is_client_error() => {
            let mut text = message;
            for problem in problems {
                text.push_str("\n  ");
                text.push_str(&problem);
            }
            CommandError::Usage(text)
        }
        other => CommandError::Runtime(other.into()),
    }
}

async fn sources(api: &AdminClient) -> Result<Vec<Value>, CommandError> {
    let answer = api.get("api/v1/sources").await.map_err(failed)?;
    Ok(answer
        .get("sources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn feed_url(source: &Value) -> Option<&str> {
    source
        .get("settings")
        .and_then(|s| s.get("url"))
        .and_then(Value::as_str)
}

async fn list(api: &AdminClient) -> Result<(), CommandError> {
    let sources = sources(api).await?;
    println!(
        "{:<24} {:<8} {:<6} {:<8} WHERE",
        "ID", "KIND", "ORIGIN", "STATE"
    );
    for source in &sources {
        let state = if source.get("paused").and_then(Value::as_bool) == Some(true) {
            "paused"
        } else {
            text(source, "state")
        };
        let mut line = format!(
            "{:<24} {:<8} {:<6} {:<8} {}",
            text(source, "id"),
            text(source, "kind"),
            text(source, "origin"),
            state,
            crate::redact::url(feed_url(source).unwrap_or(""))
        );
        if let Some(error) = source.get("last_error").and_then(Value::as_str) {
            line.push_str(&format!("  (last error: {})", crate::redact::error(error)));
        }
        println!("{line}");
    }
    println!("{} sources", sources.len());
    Ok(())
}

/// `KEY=VALUE` as a TOML value (numbers, booleans, arrays, quoted strings), else a string.
fn setting(pair: &str) -> Result<(String, Value), CommandError> {
    let (key, raw) = pair.split_once('=').ok_or_else(|| {
        CommandError::Usage(format!(
            "`{pair}` is not KEY=VALUE (for example url=https://example.com/feed.xml)"
        ))
    })?;
    let parsed = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let value =
        serde_json::to_value(parsed).map_err(|e| CommandError::Usage(format!("`{pair}`: {e}")))?;
    Ok((key.trim().to_string(), value))
}

async fn add(
    api: &AdminClient,
    kind: &str,
    id: Option<String>,
    settings: &[String],
) -> Result<(), CommandError> {
    let mut body = Map::new();
    for pair in settings {
        let (key, value) = setting(pair)?;
        body.insert(key, value);
    }
    let id = match id {
        Some(id) => id,
        None => {
            let url = body.get("url").and_then(Value::as_str).ok_or_else(|| {
                CommandError::Usage(
                    "give the source an id with --id (or a url=… to name it after)".into(),
                )
            })?;
            let existing = sources(api).await?;
            let taken: HashSet<String> =
                existing.iter().map(|s| text(s, "id").to_string()).collect();
            let feed = OpmlFeed {
                url: url.to_string(),
                title: None,
                html_url: None,
                categories: Vec::new(),
                line: 0,
            };
            opml::source_id_for(&feed, &|candidate| taken.contains(candidate))
        }
    };
    body.insert("id".into(), Value::String(id.clone()));
    body.insert("kind".into(), Value::String(kind.to_string()));
    api.post("api/v1/sources", &Value::Object(body))
        .await
        .map_err(failed)?;
    println!("added {kind} source `{id}`");
    Ok(())
}

async fn switch(api: &AdminClient, id: &str, verb: &str) -> Result<(), CommandError> {
    api.post(&format!("api/v1/sources/{id}/{verb}"), &json!({}))
        .await
        .map_err(failed)?;
    println!("{verb}d `{id}`");
    Ok(())
}

async fn remove(
    api: &AdminClient,
    id: &str,
    queued: Option<QueuedChoice>,
) -> Result<(), CommandError> {
    let path = match queued {
        Some(choice) => format!("api/v1/sources/{id}?queued={}", choice.as_str()),
        None => format!("api/v1/sources/{id}"),
    };
    match api.delete(&path).await {
        Ok(_) => {
            println!("removed `{id}`");
            Ok(())
        }
        // Only the "unfinished jobs" conflict is answered by choosing --queued; a route that
        // still names the source is another conflict, with its own problems.
        Err(ApiError::Refused {
            status,
            message,
            answer,
            ..
        }) if status == reqwest::StatusCode::CONFLICT
            && queued.is_none()
            && answer.get("unfinished").is_some() =>
        {
            Err(CommandError::Usage(format!(
                "{message}\n  choose what happens to them: --queued finish (they are still pinned) or --queued cancel (they go to the dead letter, revivable)"
            )))
        }
        Err(error) => Err(failed(error)),
    }
}

async fn import(api: &AdminClient, file: &Path, dry_run: bool) -> Result<(), CommandError> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(CommandError::Runtime)?;
    let feeds = opml::parse(&bytes).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("{}:{}: {}", file.display(), p.line, p.message))
            .collect();
        CommandError::Usage(format!(
            "{} cannot be imported; nothing was added:\n{}",
            file.display(),
            lines.join("\n")
        ))
    })?;
    let existing = sources(api).await?;
    let mut taken: HashSet<String> = existing.iter().map(|s| text(s, "id").to_string()).collect();
    let mut already = Vec::new();
    let mut batch = Vec::new();
    for feed in &feeds {
        if let Some(source) = existing
            .iter()
            .find(|s| feed_url(s).is_some_and(|url| same_url(url, &feed.url)))
        {
            already.push((text(source, "id").to_string(), feed.url.clone()));
            continue;
        }
        let id = opml::source_id_for(feed, &|candidate| taken.contains(candidate));
        taken.insert(id.clone());
        let mut source = json!({ "id": id, "kind": "feed", "url": feed.url });
        if !feed.categories.is_empty() {
            source["categories"] = json!(feed.categories);
        }
        batch.push(source);
    }
    let answer = api
        .post(
            "api/v1/sources/import",
            &json!({ "sources": batch, "dry_run": dry_run }),
        )
        .await
        .map_err(failed)?;
    let server_existing: HashSet<&str> = answer
        .get("existing")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let verb = if dry_run { "would add" } else { "added" };
    let mut added = 0;
    for source in &batch {
        let id = text(source, "id");
        if server_existing.contains(id) {
            already.push((id.to_string(), text(source, "url").to_string()));
            continue;
        }
        added += 1;
        let categories = source
            .get("categories")
            .and_then(Value::as_array)
            .map(|c| {
                let names: Vec<&str> = c.iter().filter_map(Value::as_str).collect();
                format!("  [{}]", names.join(" / "))
            })
            .unwrap_or_default();
        println!("{verb:<9} {id:<32} {}{categories}", text(source, "url"));
    }
    for (id, url) in &already {
        println!("{:<9} {id:<32} {url}", "exists");
    }
    println!(
        "{added} {} {}, {} already subscribed{}",
        if added == 1 { "feed" } else { "feeds" },
        if dry_run { "to add" } else { "added" },
        already.len(),
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    Ok(())
}

/// Two feed addresses name the same feed (as URLs, ignoring a trailing slash).
fn same_url(a: &str, b: &str) -> bool {
    let normal = |u: &str| {
        url::Url::parse(u)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| u.to_string())
            .trim_end_matches('/')
            .to_string()
    };
    normal(a) == normal(b)
}

async fn export(api: &AdminClient, output: Option<&Path>) -> Result<(), CommandError> {
    let feeds: Vec<OpmlFeed> = sources(api)
        .await?
        .iter()
        .filter(|s| text(s, "kind") == "feed")
        .filter_map(|s| {
            let settings = s.get("settings")?;
            Some(OpmlFeed {
                url: feed_url(s)?.to_string(),
                title: Some(text(s, "id").to_string()),
                html_url: None,
                categories: settings
                    .get("categories")
                    .and_then(Value::as_array)
                    .map(|c| {
                        c.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
                line: 0,
            })
        })
        .collect();
    let document = opml::export(&feeds, "pinbridge feed sources");
    match output {
        Some(path) => {
            std::fs::write(path, document)
                .with_context(|| format!("writing {}", path.display()))
                .map_err(CommandError::Runtime)?;
            eprintln!("wrote {} feeds to {}", feeds.len(), path.display());
        }
        None => print!("{document}"),
    }
    Ok(())
}
