//! Secrets of sources made through the admin API are sealed in the store: the store's files
//! never hold them, a restart still verifies signatures with them, and records an older build
//! stored in plain text are sealed at the next start.

use std::path::Path;

use reqwest::Method;
use serde_json::json;

use crate::support::live::*;

const SECRET: &str = "api-shop-secret-sealed-7f3a";
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A config with an unreachable Pinterest, with or without token keys.
fn config(dir: &Path, keys: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    let path = dir.join("pinbridge.toml");
    let store_dir = dir.join("store");
    let mut text = head("127.0.0.1:0", &store_dir, "http://127.0.0.1:9/v5/", "token");
    if keys {
        text = text.replacen(
            "[store]\n",
            &format!("[store]\ntoken_keys = \"{KEY}\"\n"),
            1,
        );
    }
    std::fs::write(&path, text).unwrap();
    (path, store_dir)
}

/// Whether any file under `dir` contains `needle`.
fn on_disk(dir: &Path, needle: &str) -> bool {
    crate::support::sled::on_disk(dir, needle)
}

async fn create_shop(app: &TestApp) {
    let body = json!({"id": "shop", "kind": "webhook", "preset": "shopify", "secret": SECRET, "storefront_url": "https://shop.example"});
    let (code, made) = app.api(Method::POST, "/sources", Some(body)).await;
    assert_eq!(code, 201, "{made}");
}

async fn stored_body(app: &TestApp) -> String {
    let records = app.store.config_records().await.unwrap();
    records
        .iter()
        .find(|r| r.id == "shop")
        .expect("the shop record")
        .body
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_webhook_secret_is_sealed_at_rest_and_verifies_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store_dir) = config(dir.path(), true);
    let app = spawn_app(&path, &store_dir).await;
    create_shop(&app).await;
    assert_eq!(app.send_product("shop", SECRET, 1).await, Some(200));
    assert!(!stored_body(&app).await.contains(SECRET));
    app.stop().await;
    assert!(
        !on_disk(&store_dir, SECRET),
        "the secret is in the store's files"
    );

    let app = spawn_app(&path, &store_dir).await;
    assert_eq!(app.send_product("shop", SECRET, 2).await, Some(200));
    assert_eq!(
        send(&app.client, &app.base, "shop", "a wrong secret", 3).await,
        Some(401)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_secret_stored_earlier_is_sealed_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store_dir) = config(dir.path(), false);
    let app = spawn_app(&path, &store_dir).await;
    create_shop(&app).await;
    assert!(
        stored_body(&app).await.contains(SECRET),
        "no keys: kept as before"
    );
    app.stop().await;

    let (path, store_dir) = config(dir.path(), true);
    let app = spawn_app(&path, &store_dir).await;
    let body = stored_body(&app).await;
    assert!(
        !body.contains(SECRET) && body.contains("sealed:v1:"),
        "{body}"
    );
    assert_eq!(app.send_product("shop", SECRET, 4).await, Some(200));
    app.stop().await;
}
