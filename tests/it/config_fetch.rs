//! `[fetch]`: the global and per-host fetch caps, from the file or the environment, validated.

use std::path::Path;
use std::process::Command;

use pinbridge::config::{Config, ConfigError};
use pinbridge::sources::feed::fetch::FetchLimits;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("test.toml"), &|_| None)
}

fn problems(text: &str) -> Vec<(String, String)> {
    match load(text) {
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.path, p.message)).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn fetch_caps_default_to_16_and_2_and_are_read_from_the_file() {
    let config = load("").unwrap();
    assert_eq!(
        config.fetch.limits(),
        FetchLimits {
            global: 16,
            per_host: 2
        }
    );
    let config = load("[fetch]\nmax_concurrent = 64\nmax_per_host = 4\n").unwrap();
    assert_eq!(
        config.fetch.limits(),
        FetchLimits {
            global: 64,
            per_host: 4
        }
    );
}

#[test]
fn bad_fetch_caps_are_named() {
    let found = problems("[fetch]\nmax_concurrent = 0\nmax_per_host = 100000\n");
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"fetch.max_concurrent"), "{found:?}");
    assert!(paths.contains(&"fetch.max_per_host"), "{found:?}");
    assert!(
        found.iter().any(|(_, m)| m.contains("1 to 512")),
        "{found:?}"
    );

    let found = problems("[fetch]\nmax_concurrent = 4\nmax_per_host = 8\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "fetch.max_per_host");
    assert!(
        found[0].1.contains("more than max_concurrent (4)"),
        "{found:?}"
    );

    let found = problems("[fetch]\nmax_per_hosts = 3\n");
    assert_eq!(found[0].0, "fetch.max_per_hosts", "{found:?}");
    assert!(
        found[0].1.contains("max_per_host"),
        "a suggestion: {found:?}"
    );

    let found = problems("[fetch]\nmax_concurrent = \"many\"\n");
    assert_eq!(found[0].0, "fetch.max_concurrent", "{found:?}");
}

#[test]
fn fetch_caps_come_from_the_environment_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    std::fs::write(&path, "[fetch]\nmax_concurrent = 8\n").unwrap();
    let check = |per_host: &str| {
        Command::new(env!("CARGO_BIN_EXE_pinbridge"))
            .args(["check", "-c"])
            .arg(&path)
            .env("PINBRIDGE_FETCH__MAX_PER_HOST", per_host)
            .output()
            .unwrap()
    };
    let out = check("3");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = check("9");
    assert_eq!(out.status.code(), Some(2));
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fetch.max_per_host"), "{text}");
    assert!(text.contains("more than max_concurrent (8)"), "{text}");
}
