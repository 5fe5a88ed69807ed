//! The User-Agent source fetches send, seen by a real loopback server: `pinbridge/<version>` and
//! no address pinbridge does not own, the operator's contact (`[fetch] contact`, else
//! `server.public_url`) when there is one, and a source's own `user_agent` above all.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::get;
use pinbridge::config::{Config, ConfigError};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::{FeedSettings, FeedSource, Fetcher};
use pinbridge::sources::webhook::fetch::{HttpFetcher, MediaFetcher};
use pinbridge::store::SourceState;
use url::Url;

use crate::support::feed::{serve, sled_store};
use crate::support::feed_server::rss_posts;

const VERSIONED: &str = concat!("pinbridge/", env!("CARGO_PKG_VERSION"));

type Agents = Arc<Mutex<Vec<String>>>;

/// Answers a one-post feed at `/feed.xml` and a JSON document at `/post.json`, noting the
/// User-Agent of every request.
async fn recording_server() -> (String, Agents) {
    async fn note(agents: &Agents, headers: &HeaderMap) {
        let agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("(none)");
        agents.lock().unwrap().push(agent.to_string());
    }
    let agents = Agents::default();
    let router = Router::new()
        .route(
            "/feed.xml",
            get(
                |State(agents): State<Agents>, headers: HeaderMap| async move {
                    note(&agents, &headers).await;
                    (
                        [(header::CONTENT_TYPE, "application/rss+xml")],
                        rss_posts(1),
                    )
                        .into_response()
                },
            ),
        )
        .route(
            "/post.json",
            get(
                |State(agents): State<Agents>, headers: HeaderMap| async move {
                    note(&agents, &headers).await;
                    ([(header::CONTENT_TYPE, "application/json")], "{}").into_response()
                },
            ),
        )
        .with_state(agents.clone());
    let addr = serve(router).await;
    (format!("http://{addr}"), agents)
}

fn load(text: &str) -> Config {
    Config::from_toml(text, Path::new("test.toml"), &|_| None).expect("valid config")
}

/// The User-Agent one feed poll sends with `config`'s fetch settings; `own` is the source's
/// `user_agent`.
async fn feed_agent(config: &Config, own: Option<&str>) -> String {
    let (base, agents) = recording_server().await;
    let mut settings = FeedSettings::for_url(format!("{base}/feed.xml"));
    settings.allow_private = true;
    settings.user_agent = own.map(str::to_string);
    let fetcher = Fetcher::new().with_user_agent(config.fetch_user_agent());
    let feed = FeedSource::new(SourceId::new("blog"), settings, fetcher).expect("valid source");
    feed.poll_once(&SourceState::default()).await.expect("poll");
    let seen = agents.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    seen[0].clone()
}

#[tokio::test]
async fn feed_user_agent_by_default_names_pinbridge_and_no_foreign_address() {
    let agent = feed_agent(&load(""), None).await;
    assert_eq!(agent, VERSIONED);
    assert!(!agent.contains("github"), "{agent}");
}

#[tokio::test]
async fn feed_user_agent_names_the_public_url_when_set() {
    let config = load("[server]\npublic_url = \"https://pins.example.com\"\n");
    let agent = feed_agent(&config, None).await;
    assert_eq!(agent, format!("{VERSIONED} (+https://pins.example.com)"));
}

#[tokio::test]
async fn feed_user_agent_prefers_the_fetch_contact_to_the_public_url() {
    let config = load(
        "[server]\npublic_url = \"https://pins.example.com\"\n\
         [fetch]\ncontact = \"mailto:ops@example.com\"\n",
    );
    let agent = feed_agent(&config, None).await;
    assert_eq!(agent, format!("{VERSIONED} (+mailto:ops@example.com)"));
}

#[tokio::test]
async fn feed_user_agent_of_the_source_itself_wins() {
    let config = load("[fetch]\ncontact = \"https://about.example.com/bot\"\n");
    let agent = feed_agent(&config, Some("MyReader/2.0")).await;
    assert_eq!(agent, "MyReader/2.0");
}

#[tokio::test]
async fn feed_user_agent_reaches_the_sources_the_service_builds_and_webhook_lookups() {
    let (base, agents) = recording_server().await;
    let config = load(&format!(
        r#"
[fetch]
contact = "https://about.example.com/bot"

[[accounts]]
name = "main"
access_token = "pina_test"

[[sources]]
id = "blog"
kind = "feed"
url = "{base}/feed.xml"
allow_private = true

[[routes]]
source = "*"
board = "Blog"
"#
    ));
    let expected = format!("{VERSIONED} (+https://about.example.com/bot)");

    let sled = sled_store().await;
    let (_, parts) = pinbridge::live::start::initial(&config, sled.store.as_ref(), 0, None)
        .await
        .expect("parts");
    assert_eq!(parts.feeds.len(), 1);
    assert_eq!(parts.feeds[0].user_agent(), expected);
    parts.feeds[0]
        .poll_once(&SourceState::default())
        .await
        .expect("poll");

    let lookups =
        HttpFetcher::standard_over(Fetcher::new().with_user_agent(config.fetch_user_agent()));
    let url = Url::parse(&format!("{base}/post.json")).unwrap();
    lookups.get_json(&url, true).await.expect("json");

    assert_eq!(*agents.lock().unwrap(), vec![expected.clone(), expected]);
}

fn problems(text: &str) -> Vec<(String, Option<usize>, String)> {
    match Config::from_toml(text, Path::new("test.toml"), &|_| None) {
        Err(ConfigError::Invalid { problems, .. }) => problems
            .into_iter()
            .map(|p| (p.path, p.line, p.message))
            .collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn config_fetch_contact_must_be_a_web_address_or_mailto() {
    for bad in [
        "pins.example.com",
        "ftp://example.com/",
        "mailto:",
        "https://",
    ] {
        let found = problems(&format!("[server]\n\n[fetch]\ncontact = \"{bad}\"\n"));
        assert_eq!(found.len(), 1, "{bad}: {found:?}");
        let (path, line, message) = &found[0];
        assert_eq!(path, "fetch.contact");
        assert_eq!(*line, Some(4), "{bad}: {found:?}");
        assert!(message.contains(bad), "{message}");
        assert!(message.contains("mailto:"), "{message}");
    }
    for good in ["https://pins.example.com/about", "mailto:ops@example.com"] {
        let config = load(&format!("[fetch]\ncontact = \"{good}\"\n"));
        assert_eq!(config.fetch.contact.as_deref(), Some(good));
    }
}

#[test]
fn config_fetch_contact_comes_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    std::fs::write(&path, "[fetch]\nmax_concurrent = 8\n").unwrap();
    let check = |contact: &str| {
        Command::new(env!("CARGO_BIN_EXE_pinbridge"))
            .args(["check", "-c"])
            .arg(&path)
            .env("PINBRIDGE_FETCH__CONTACT", contact)
            .output()
            .unwrap()
    };
    let out = check("mailto:ops@example.com");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("not a contact");
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fetch.contact"), "{text}");
}
