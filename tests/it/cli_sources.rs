//! `pinbridge sources …` through the real binary against a running `pinbridge serve`, beyond
//! what `live_cli` covers: a broken OPML file adds nothing and names its lines, the export keeps
//! every folder, a wrong admin token is refused without echoing it, imports survive a restart.

use std::path::Path;
use std::process::{Command, Output};

use tokio_util::sync::CancellationToken;

use crate::support::binary::output_text as text;
use crate::support::binary::*;

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/opml/{name}", env!("CARGO_MANIFEST_DIR"))
}

async fn cli(config: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(binary());
    command
        .arg("sources")
        .args(args)
        .arg("-c")
        .arg(config)
        .env_remove("PINBRIDGE_CONFIG")
        .env_remove("PINBRIDGE_SERVER");
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// The data lines of `sources list` (without header and count).
async fn listed(config: &Path) -> Vec<String> {
    let out = cli(config, &["list"]).await;
    assert!(out.status.success(), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    shown
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with(" sources"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_imports_wrong_tokens_and_restarts_through_the_cli() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let TestBinary {
        mut child,
        base,
        dir,
        config,
        ..
    } = spawn_binary(&api, &token).await;

    let before = listed(&config).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert!(
        before[0].starts_with("shop") && before[0].contains("file"),
        "{before:?}"
    );

    // A broken list: every bad line named, nothing added.
    let out = cli(&config, &["import", &fixture("broken.opml")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let shown = text(&out);
    for line in [":6:", ":7:", ":8:"] {
        assert!(
            shown.contains(line),
            "problem on line {line} named: {shown}"
        );
    }
    assert!(shown.contains("nothing was added"), "{shown}");
    assert_eq!(listed(&config).await.len(), 1);

    let out = cli(&config, &["import", &fixture("feedly.opml")]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3 feeds added"), "{}", text(&out));
    let after = listed(&config).await;
    assert_eq!(after.len(), 4, "{after:?}");
    let imported: Vec<&String> = after.iter().filter(|l| l.contains(" api ")).collect();
    assert_eq!(
        imported.len(),
        3,
        "imported sources have origin api: {after:?}"
    );

    // Export and read back: the same feeds with the same folders.
    let exported = dir.path().join("export.opml");
    let out = cli(&config, &["export", "-o", exported.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", text(&out));
    let original =
        pinbridge::sources::opml::parse(&std::fs::read(fixture("feedly.opml")).unwrap()).unwrap();
    let back =
        pinbridge::sources::opml::parse(&std::fs::read(&exported).unwrap()).expect("valid OPML");
    let mut want: Vec<(String, Vec<String>)> = original
        .iter()
        .map(|f| (f.url.clone(), f.categories.clone()))
        .collect();
    let mut got: Vec<(String, Vec<String>)> = back
        .iter()
        .map(|f| (f.url.clone(), f.categories.clone()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);

    // The wrong token is refused without showing it.
    let wrong = dir.path().join("wrong.toml");
    std::fs::write(
        &wrong,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace(OPS_ADMIN, "not-the-token-but-long-enough-0123456789"),
    )
    .unwrap();
    let out = cli(&wrong, &["list"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("401"), "{}", text(&out));
    assert!(!text(&out).contains("not-the-token"));

    // The imported sources survive a restart.
    signal(&child, "TERM");
    assert!(wait_exit(&mut child).await.success());
    let mut child = start_serve(&config, &base, dir.path()).await;
    assert_eq!(listed(&config).await.len(), 4);
    signal(&child, "TERM");
    assert!(wait_exit(&mut child).await.success());
    stop.cancel();
}
