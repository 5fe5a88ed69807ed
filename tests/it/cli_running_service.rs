//! `pinbridge items` and `pinbridge poll --dry-run` while `pinbridge serve` runs on sled: the
//! service holds the store locked, so the commands ask its admin API, and show what the store
//! holds and what a poll would pin without stopping it.

use std::path::Path;
use std::process::Command;

use tokio_util::sync::CancellationToken;

use crate::support::binary::*;
use crate::support::feed_server::{FeedServer, rss_posts};
use crate::support::wait::eventually;

/// `pinbridge <args> -c <config>`: (exit code, stdout + stderr).
fn cli(config: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::new(binary())
        .args(args)
        .args(["-c", config.to_str().unwrap()])
        .env_remove("PINBRIDGE_CONFIG")
        .env_remove("PINBRIDGE_SERVER")
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), output_text(&output))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_and_dry_run_polls_work_while_the_service_runs() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let feed = FeedServer::builder(rss_posts(2)).start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    let text = format!(
        "{}\n[[sources]]\nid = \"blog\"\nkind = \"feed\"\nurl = \"{}\"\nallow_private = true\ninterval = \"1h\"\n\n\
         [[routes]]\nsource = \"blog\"\nboard = \"Blog\"\ncreate_missing = true\n",
        config_text(&api, &token, &data, port),
        feed.url
    );
    std::fs::write(&config, &text).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start_serve(&config, &base, dir.path()).await;
    let client = reqwest::Client::new();
    assert_eq!(send_product(&client, &base, 7).await, Some(200));
    // The poll's items, then its state (validators, baseline) are written: wait for both.
    eventually("the feed's first poll is recorded", || async {
        let url = format!("{base}/api/v1/items?source=blog");
        let items = crate::support::admin::get_json(&client, &url, OPS_ADMIN).await;
        let url = format!("{base}/api/v1/sources");
        let sources = crate::support::admin::get_json(&client, &url, OPS_ADMIN).await;
        let polled = sources["sources"].as_array().is_some_and(|l| {
            l.iter()
                .any(|s| s["id"] == "blog" && s["last_poll"].is_i64())
        });
        polled && items["items"].as_array().is_some_and(|i| i.len() == 2)
    })
    .await;

    // The store is the service's: opened directly (no admin token to find the service), it
    // is refused.
    let direct = dir.path().join("direct.toml");
    std::fs::write(
        &direct,
        text.replace(&format!("admin_token = \"{OPS_ADMIN}\""), ""),
    )
    .unwrap();
    let (code, out) = cli(&direct, &["items", "list"]);
    assert_ne!(code, 0, "sled is locked by the service: {out}");

    let (code, out) = cli(&config, &["items", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("# source blog: last poll"), "{out}");
    assert!(out.contains("blog\tguid:post-1\t"), "{out}");
    assert!(out.contains("shop\t"), "the webhook's item too: {out}");

    let (code, out) = cli(&config, &["items", "show", "blog", "guid:post-0"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"title\": \"Post 0\""), "{out}");
    let (code, out) = cli(&config, &["items", "show", "blog", "guid:nope"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no item"), "{out}");

    // A new post: the dry run names it, and nothing is written.
    feed.set_body(rss_posts(3));
    let (code, out) = cli(&config, &["poll", "--source", "blog", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("NEW → would be pinned\n    key    guid:post-2"),
        "{out}"
    );
    assert!(out.contains("known\n    key    guid:post-0"), "{out}");
    assert!(
        out.contains("3 item(s), 1 would be pinned (dry run: nothing written)"),
        "{out}"
    );
    let (_, out) = cli(&config, &["items", "list", "--source", "blog"]);
    assert!(
        !out.contains("guid:post-2"),
        "a dry run records nothing: {out}"
    );

    let (code, out) = cli(&config, &["poll", "--source", "shop", "--dry-run"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("only feeds and shops are polled"), "{out}");

    let (code, out) = cli(&config, &["items", "forget", "blog", "guid:post-0"]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = cli(&config, &["items", "list", "--source", "blog"]);
    assert!(!out.contains("guid:post-0"), "{out}");

    signal(&child, "TERM");
    assert!(wait_exit(&mut child).await.success());
    stop.cancel();
}
