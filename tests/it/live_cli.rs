//! The two halves together: `pinbridge sources …` (the CLI) against a running `pinbridge
//! serve` (the runtime API), both the real binary.

use std::path::Path;
use std::process::Command;

use tokio_util::sync::CancellationToken;

use crate::support::binary::*;

const OPML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Crafts">
      <outline type="rss" text="Paper" xmlUrl="https://paper.example.invalid/feed.xml"/>
      <outline type="rss" text="Clay" xmlUrl="https://clay.example.invalid/feed.xml"/>
    </outline>
    <outline type="rss" text="Food" xmlUrl="https://food.example.invalid/rss"/>
  </body>
</opml>
"#;

/// Run `pinbridge sources <args> -c <config>`; (exit code, stdout, stderr).
fn sources(config: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(binary())
        .arg("sources")
        .args(args)
        .args(["-c", config.to_str().unwrap()])
        .env_remove("PINBRIDGE_CONFIG")
        .env_remove("PINBRIDGE_SERVER")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sources_cli_drives_the_runtime_api_of_a_running_service() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let TestBinary {
        mut child,
        dir,
        config,
        ..
    } = spawn_binary(&api, &token).await;
    let opml = dir.path().join("subs.opml");
    std::fs::write(&opml, OPML).unwrap();

    let opml_arg = opml.to_str().unwrap();
    let (code, out, err) = sources(&config, &["import", opml_arg, "--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 feeds to add"), "{out}");
    let (_, out, _) = sources(&config, &["list"]);
    assert!(out.contains("1 sources"), "a dry run adds nothing: {out}");

    let (code, out, err) = sources(&config, &["import", opml_arg]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("3 feeds added"), "{out}");
    let (code, out, err) = sources(&config, &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4 sources"), "{out}");
    assert!(
        out.contains("https://clay.example.invalid/feed.xml"),
        "{out}"
    );
    let api_lines = out.lines().filter(|l| l.contains(" api ")).count();
    assert_eq!(api_lines, 3, "{out}");

    // Importing again: everything exists, nothing is added.
    let (code, out, _) = sources(&config, &["import", opml_arg]);
    assert_eq!(code, 0);
    assert!(out.contains("0 feeds added, 3 already subscribed"), "{out}");

    // Export gives the feeds back as OPML, with their folder.
    let (code, out, err) = sources(&config, &["export"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("https://paper.example.invalid/feed.xml"),
        "{out}"
    );
    assert!(out.contains("Crafts"), "{out}");

    // Pause, remove; a file source cannot be removed.
    let (_, out, _) = sources(&config, &["list"]);
    let id = out
        .lines()
        .find(|l| l.contains("food.example.invalid"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let (code, _, err) = sources(&config, &["pause", &id]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = sources(&config, &["list"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with(&id) && l.contains("paused")),
        "{out}"
    );
    let (code, _, err) = sources(&config, &["remove", &id]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sources(&config, &["remove", "shop"]);
    assert_ne!(code, 0);
    assert!(err.contains("edit the file"), "{err}");
    // A bad entry is refused with its key, as the file would be.
    let (code, _, err) = sources(
        &config,
        &["add", "feed", "--id", "bad", "url=ftp://x.example/feed"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("sources[bad].url"), "{err}");
    let (_, out, _) = sources(&config, &["list"]);
    assert!(out.contains("3 sources"), "{out}");

    signal(&child, "TERM");
    let status = wait_exit(&mut child).await;
    assert_eq!(status.code(), Some(0));
    stop.cancel();
}
