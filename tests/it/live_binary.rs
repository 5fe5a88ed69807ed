//! SIGHUP through the real binary: `pinbridge serve` re-reads its file in place (no restart,
//! no lost listener), and an invalid file is refused while the process keeps serving.

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::binary::*;
use crate::support::live::{eventually, send};

const OTHER: &str = "second-shop-secret";

async fn status(client: &reqwest::Client, base: &str) -> Value {
    let url = format!("{base}/api/v1/config/status");
    crate::support::admin::get_json(client, &url, OPS_ADMIN).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_config_file_in_place() {
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let TestBinary {
        mut child,
        base,
        dir,
        config,
        text,
        ..
    } = spawn_binary(&api, &token).await;
    let client = reqwest::Client::new();
    assert_eq!(send(&client, &base, "shop", SECRET, 1).await, Some(200));
    assert_eq!(send(&client, &base, "second", OTHER, 2).await, Some(404));

    // Add a second webhook source and reload with SIGHUP.
    let added = format!(
        "{text}\n[[sources]]\nid = \"second\"\nkind = \"webhook\"\npreset = \"shopify\"\nsecret = \"{OTHER}\"\nstorefront_url = \"https://shop.example\"\n"
    );
    std::fs::write(&config, &added).unwrap();
    signal(&child, "HUP");
    eventually("the second source answers", || {
        let (client, base) = (client.clone(), base.clone());
        async move { send(&client, &base, "second", OTHER, 3).await == Some(200) }
    })
    .await;
    assert_eq!(
        send(&client, &base, "shop", SECRET, 4).await,
        Some(200),
        "the first still serves"
    );
    let now = status(&client, &base).await;
    assert_eq!(now["generation"], 2, "{now}");
    assert_eq!(now["last_reload"]["trigger"], "sighup");

    // An invalid file: refused, the process keeps serving the previous configuration.
    std::fs::write(
        &config,
        added.replace("preset = \"shopify\"", "preset = \"shopifyy\""),
    )
    .unwrap();
    signal(&child, "HUP");
    eventually("the refused reload is reported", || {
        let (client, base) = (client.clone(), base.clone());
        async move { status(&client, &base).await["last_reload"]["ok"] == false }
    })
    .await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP does not end the process"
    );
    assert_eq!(send(&client, &base, "second", OTHER, 5).await, Some(200));
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    signal(&child, "TERM");
    let exit = wait_exit(&mut child).await;
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert_eq!(exit.code(), Some(0), "{log}");
    assert!(log.contains("Configuration reloaded."), "{log}");
    assert!(log.contains("reload refused"), "{log}");
    assert!(
        !log.contains(OTHER) && !log.contains(SECRET),
        "no secret in the log"
    );
    stop.cancel();
}
