//! `pinbridge check` and config loading, through the real binary where exit codes matter.

use std::path::Path;
use std::process::Command;

use pinbridge::config::{Config, ConfigError};
use pinbridge::settings::{Compression, Engine};

const EXAMPLE: &str = include_str!("../../config/pinbridge.example.toml");

fn check(path: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pinbridge"))
        .args(["check", "-c"])
        .arg(path)
        .env(
            "PINBRIDGE_ADMIN_TOKEN",
            "0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .env("PINTEREST_CLIENT_ID", "1234")
        .env("PINTEREST_CLIENT_SECRET", "secret")
        .env("PINTEREST_ACCESS_TOKEN", "pina_x")
        .env("PINTEREST_REFRESH_TOKEN", "pinr_x")
        .env("SHOPIFY_WEBHOOK_SECRET", "shpss_x")
        .env("CMS_WEBHOOK_SECRET", "cms_x")
        .env(
            "PINBRIDGE_TOKEN_KEY",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .output()
        .expect("run pinbridge")
}

#[test]
fn the_example_config_checks_clean() {
    let out = check(Path::new("config/pinbridge.example.toml"));
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn a_misspelled_key_exits_2_and_names_it_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let text = EXAMPLE.replacen("interval = \"15m\"", "intervall = \"15m\"", 1);
    let line = text
        .lines()
        .position(|l| l.starts_with("intervall"))
        .unwrap()
        + 1;
    std::fs::write(&path, text).unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sources[0].intervall"), "{stderr}");
    assert!(stderr.contains("did you mean `interval`"), "{stderr}");
    assert!(stderr.contains(&format!("line {line}")), "{stderr}");
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let text = r#"
[pinterest]
timeout = "soon"

[[accounts]]
name = "main"

[[sources]]
id = "blog"
kind = "feed"
url = "ftp://example.com/feed"

[[sources]]
id = "blog2"
kind = "feed"
url = "https://example.com/feed"
backfill = "some"

[[routes]]
source = "blgo"
board = "Recipes"
when = { title = "(unclosed" }
"#;
    let err = Config::from_toml(text, Path::new("t.toml"), &|_| None).unwrap_err();
    let ConfigError::Invalid { problems, .. } = err else {
        panic!("expected validation problems, got {err}");
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for expected in [
        "pinterest.timeout",
        "sources[0].url",
        "sources[1].backfill",
        "routes[0].source",
        "routes[0].when.title",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
}

#[test]
fn an_unset_variable_is_named() {
    let text = "[pinterest]\nclient_id = \"${NOT_SET_ANYWHERE}\"\n";
    let err = Config::from_toml(text, Path::new("t.toml"), &|_| None).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("NOT_SET_ANYWHERE"), "{message}");
    assert!(message.contains("pinterest.client_id"), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn secrets_do_not_appear_in_config_errors() {
    let text = "[pinterest]\nclient_secret = \"${S}\"\ntimeout = 5\n[[accounts]]\nname = \"a\"\nrefresh_token = \"${S}\"\n";
    let err = Config::from_toml(text, Path::new("t.toml"), &|_| {
        Some("hunter2-secret".into())
    })
    .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{err:?}").contains("hunter2"));
}

/// The example config with its `[store]` lines replaced.
fn with_store_line(find: &str, replace: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    assert!(EXAMPLE.contains(find), "the example has `{find}`");
    std::fs::write(&path, EXAMPLE.replacen(find, replace, 1)).unwrap();
    (dir, path)
}

#[test]
fn token_key_lists_without_keys_or_with_a_repeated_id_are_refused() {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    for (keys, expected) in [
        (",".to_string(), "no key"),
        (format!("1:{key},1:{key}"), "key id 1 appears twice"),
    ] {
        let line = format!("token_keys = \"{keys}\"");
        let (_dir, path) = with_store_line("token_keys = \"${PINBRIDGE_TOKEN_KEY}\"", &line);
        let out = check(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{keys}: {stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains(key), "a key is never echoed: {stderr}");
    }
}

#[test]
fn a_remote_postgres_url_without_verified_tls_is_warned_about() {
    let (_dir, path) = with_store_line(
        "# url = \"${PINBRIDGE_DATABASE_URL}\"",
        "url = \"postgres://pinbridge:hunter2@db.example.com/pinbridge?sslmode=require\"",
    );
    let out = check(&path);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("warning: store.url connects to db.example.com with sslmode=require"),
        "{stdout}"
    );
    assert!(stdout.contains("sslmode=verify-full"), "{stdout}");
    assert!(!stdout.contains("hunter2"), "{stdout}");
    let (_dir, path) = with_store_line(
        "# url = \"${PINBRIDGE_DATABASE_URL}\"",
        "url = \"postgres://pinbridge:hunter2@db.example.com/pinbridge?sslmode=verify-full\"",
    );
    let out = check(&path);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("warning"));
}

#[test]
fn a_routes_follow_policies_are_read_and_a_wrong_value_is_named() {
    let head = r#"
[[accounts]]
name = "main"

[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "s"
storefront_url = "https://shop.example"

[[routes]]
source = "shop"
board = "Shop"
"#;
    let good = format!(
        "{head}on_change = \"update\"\nupdate_fallback = \"new_pin\"\non_delete = \"delete\"\n"
    );
    let config = Config::from_toml(&good, Path::new("t.toml"), &|_| None).expect("valid");
    let route = &config.routes[0];
    assert_eq!(route.on_change, Some(pinbridge::settings::OnChange::Update));
    assert_eq!(
        route.update_fallback,
        pinbridge::settings::UpdateFallback::NewPin
    );
    assert_eq!(route.on_delete, pinbridge::settings::OnDelete::Delete);
    let defaults = Config::from_toml(head, Path::new("t.toml"), &|_| None).expect("valid");
    assert_eq!(
        defaults.routes[0].on_delete,
        pinbridge::settings::OnDelete::Keep
    );

    let bad = format!("{head}on_delete = \"sometimes\"\n");
    let err = Config::from_toml(&bad, Path::new("t.toml"), &|_| None).unwrap_err();
    let ConfigError::Invalid { problems, .. } = err else {
        panic!("expected validation problems, got {err}");
    };
    assert!(
        problems.iter().any(|p| p.path.starts_with("routes[0]")),
        "{problems:?}"
    );
}

#[test]
fn retention_settings_are_read_and_bad_values_named() {
    let store = |lines: &str| {
        let text = format!("[store]\n{lines}\n");
        Config::from_toml(&text, Path::new("t.toml"), &|_| None)
    };
    let config = store("keep_payloads = \"90d\"\nretention_every = \"30m\"").unwrap();
    assert_eq!(
        config.store.keep_payloads,
        Some(std::time::Duration::from_secs(90 * 86_400))
    );
    assert_eq!(
        config.store.retention_every,
        std::time::Duration::from_secs(1_800)
    );
    assert_eq!(store("").unwrap().store.compression, Compression::Off);
    assert_eq!(store("").unwrap().store.engine, Engine::Sled);
    assert_eq!(
        store("engine = \"fjall\"").unwrap().store.engine,
        Engine::Fjall
    );
    // sled's page compression means nothing to fjall: said, not silently ignored.
    let err = store("engine = \"fjall\"\ncompression = \"zstd\"").unwrap_err();
    let ConfigError::Invalid { problems, .. } = &err else {
        panic!("expected a validation problem, got {err}");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.path == "store.compression" && p.message.contains("sled engine only")),
        "{problems:?}"
    );
    assert_eq!(
        store("compression = \"zstd\"").unwrap().store.compression,
        Compression::Zstd
    );
    assert_eq!(
        store("keep_payloads = \"off\"")
            .unwrap()
            .store
            .keep_payloads,
        None
    );
    assert_eq!(
        store("").unwrap().store.keep_payloads,
        None,
        "off by default"
    );

    for (lines, expected) in [
        ("keep_payloads = \"ninety days\"", "is not a duration"),
        ("keep_payloads = \"10m\"", "at least 1h"),
        ("retention_every = \"0s\"", "longer than 0s"),
        ("compression = \"lz4\"", "zstd"),
        ("engine = \"rocksdb\"", "fjall"),
    ] {
        let err = store(lines).unwrap_err();
        let ConfigError::Invalid { problems, .. } = &err else {
            panic!("expected validation problems for {lines}, got {err}");
        };
        let key = lines.split(' ').next().unwrap();
        assert!(
            problems
                .iter()
                .any(|p| p.path == format!("store.{key}") && p.message.contains(expected)),
            "{lines}: {problems:?}"
        );
    }
}
