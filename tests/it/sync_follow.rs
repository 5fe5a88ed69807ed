//! Pins follow their Shopify product, end to end against the sandbox with the real binary: a
//! product pinned, then changed (the Pin's title changes under `on_change = "update"`), then
//! deleted (the Pin is gone under `on_delete = "delete"`, kept under the default `keep`), and a
//! delete acknowledged just before a kill -9 still happens after the restart.

use std::path::Path;
use std::time::{Duration, Instant};

use pinbridge::pinterest::sandbox::{Faults, Sandbox, SandboxPin};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::support::admin::get_json;
use crate::support::binary::{DEADLINE, OPS_ADMIN, SECRET, free_port, start_serve};
use crate::support::pinterest::{serve_sandbox, unlimited};
use crate::support::shopify::signature;

/// The config of [`crate::support::binary::config_text`], with the route's follow policies.
fn config(api: &str, token: &str, data: &Path, port: u16, policy: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
shutdown_grace = "10s"
admin_token = "{OPS_ADMIN}"

[store]
path = "{data}"

[pinterest]
api_base = "{api}"

[sync]
backoff_base = "100ms"
backoff_cap = "500ms"

[[accounts]]
name = "main"
access_token = "{token}"

[[sources]]
id = "shop"
kind = "webhook"
preset = "shopify"
secret = "{SECRET}"
storefront_url = "https://shop.example"

[[routes]]
source = "shop"
board = "Shop"
create_missing = true
on_change = "update"
{policy}
"#,
        data = data.join("pinbridge.sled").display(),
    )
}

/// A Shopify product body (as in `products/create` and `products/update`).
pub(crate) fn product(id: u64, title: &str, updated: &str) -> String {
    serde_json::json!({
        "id": id,
        "title": title,
        "body_html": "<p>Mug.</p>",
        "handle": format!("mug-{id}"),
        "status": "active",
        "published_at": "2026-11-20T10:00:00-05:00",
        "updated_at": updated,
        "variants": [{"id": 1, "price": "28.00"}],
        "images": [{"id": 2, "position": 1, "src": format!("https://cdn.shop.example/{id}.jpg")}],
    })
    .to_string()
}

/// POST one signed delivery of `topic`; the answer's status and body.
pub(crate) async fn deliver(base: &str, topic: &str, delivery: &str, body: String) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{base}/hooks/shop"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", topic)
        .header("x-shopify-hmac-sha256", signature(SECRET, &body))
        .header("x-shopify-webhook-id", delivery)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Wait until the sandbox's Pins satisfy `done`; panics with them after the deadline.
pub(crate) async fn wait_pins(sandbox: &Sandbox, what: &str, done: impl Fn(&[SandboxPin]) -> bool) {
    let start = Instant::now();
    loop {
        let pins = sandbox.pins();
        if done(&pins) {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}; the sandbox has {pins:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn item(base: &str) -> Value {
    let url = format!("{base}/api/v1/items/shop/product:1");
    get_json(&reqwest::Client::new(), &url, OPS_ADMIN).await
}

pub(crate) struct Run {
    pub sandbox: Sandbox,
    pub base: String,
    /// The sandbox API base and the user's access token.
    pub api: String,
    pub token: String,
    pub config: std::path::PathBuf,
    pub dir: tempfile::TempDir,
    pub child: std::process::Child,
    _stop: CancellationToken,
}

/// The sandbox, and the binary serving the `shop` source with `on_change = "update"` and the
/// route keys `policy`; product 1 pinned.
pub(crate) async fn pinned(policy: &str) -> Run {
    let stop = CancellationToken::new();
    let sandbox = Sandbox::new(unlimited());
    let user = sandbox.create_user("follow");
    let api = serve_sandbox(&sandbox, &stop).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let port = free_port();
    let config = dir.path().join("pinbridge.toml");
    let text = self::config(&api, &user.access_token, &data, port, policy);
    std::fs::write(&config, text).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let child = start_serve(&config, &base, dir.path()).await;

    let first = product(1, "Blue mug", "2026-11-20T10:00:00-05:00");
    let (status, answer) = deliver(&base, "products/create", "d-1", first).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("accepted")));
    wait_pins(&sandbox, "the product is pinned", |p| {
        p.len() == 1 && p[0].title.as_deref() == Some("Blue mug")
    })
    .await;
    Run {
        sandbox,
        base,
        api,
        token: user.access_token,
        config,
        dir,
        child,
        _stop: stop,
    }
}

/// [`pinned`] with `on_delete`, and then renamed: its Pin's title changed in place.
async fn pinned_and_updated(on_delete: &str) -> Run {
    let run = pinned(&format!("on_delete = \"{on_delete}\"")).await;
    let (sandbox, base) = (&run.sandbox, &run.base);
    let pin_id = sandbox.pins()[0].id.clone();

    let renamed = product(1, "Blue mug, large", "2026-11-21T10:00:00-05:00");
    let (status, _) = deliver(base, "products/update", "d-2", renamed).await;
    assert_eq!(status, 200);
    wait_pins(sandbox, "the Pin's title follows the product", |p| {
        p.len() == 1 && p[0].title.as_deref() == Some("Blue mug, large")
    })
    .await;
    assert_eq!(
        sandbox.pins()[0].id,
        pin_id,
        "updated in place, not a new Pin"
    );
    assert_eq!(sandbox.stats().pins_updated, 1);
    run
}

fn delete_body() -> String {
    r#"{"id":1}"#.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shopify_product_pinned_then_updated_then_deleted_takes_its_pin_along() {
    let mut run = pinned_and_updated("delete").await;
    let (status, answer) = deliver(&run.base, "products/delete", "d-3", delete_body()).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("removed")));
    wait_pins(&run.sandbox, "the Pin is deleted", |p| p.is_empty()).await;

    let start = Instant::now();
    loop {
        let item = item(&run.base).await;
        if item["pins"][0]["fate"] == "deleted" {
            let events = item["pins"][0]["events"].as_array().unwrap().clone();
            let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
            assert_eq!(kinds, ["update", "delete"], "{item}");
            break;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "the item never shows the delete: {item}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    run.child.kill().unwrap();
    run.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_keep_a_deleted_product_keeps_its_pin() {
    let mut run = pinned_and_updated("keep").await;
    let (status, answer) = deliver(&run.base, "products/delete", "d-3", delete_body()).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("removed")));
    // The delivery was acknowledged after the store decided: nothing was queued to delete.
    let item = item(&run.base).await;
    let jobs = item["jobs"].as_array().unwrap();
    assert!(
        jobs.iter().all(|j| j["kind"]["op"] != "delete"),
        "no delete queued under keep: {item}"
    );
    assert_eq!(item["pins"][0]["fate"], "updated", "{item}");
    assert_eq!(run.sandbox.pins().len(), 1, "the Pin is kept");
    run.child.kill().unwrap();
    run.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_acknowledged_before_a_kill_9_happens_after_the_restart() {
    let mut run = pinned_and_updated("delete").await;
    // Pinterest fails every call now, so the delete cannot have gone out before the kill.
    run.sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let (status, answer) = deliver(&run.base, "products/delete", "d-3", delete_body()).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("removed")));
    run.child.kill().unwrap(); // SIGKILL
    run.child.wait().unwrap();
    assert_eq!(
        run.sandbox.pins().len(),
        1,
        "the delete did not go out before the kill"
    );

    run.sandbox.set_faults(Faults::default());
    let mut child = start_serve(&run.config, &run.base, run.dir.path()).await;
    wait_pins(
        &run.sandbox,
        "the acknowledged delete runs after the restart",
        |p| p.is_empty(),
    )
    .await;
    // A repeat of the delivery after the restart changes nothing.
    let (status, _) = deliver(&run.base, "products/delete", "d-3", delete_body()).await;
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
