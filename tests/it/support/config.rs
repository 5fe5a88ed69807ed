//! Config files for the front doors: `[server]`, `[store]`, `[pinterest]` and one account,
//! with sources and routes appended piece by piece.

use std::path::Path;

/// The admin token of [`head`] (32 characters or more, as validation requires).
pub const ADMIN: &str = "live-admin-token-7d31c0a9e4b25f8601";

/// `[server]`, `[store]`, `[pinterest]` and one account; sources and routes are appended.
pub fn head(listen: &str, store: &Path, api: &str, token: &str) -> String {
    format!(
        r#"
[server]
listen = "{listen}"
admin_token = "{ADMIN}"
shutdown_grace = "5s"

[store]
path = "{store}"

[pinterest]
api_base = "{api}"
timeout = "2s"

[sync]
backoff_base = "1h"

[[accounts]]
name = "main"
access_token = "{token}"
"#,
        store = store.display()
    )
}

/// A Shopify webhook source entry with these secrets.
pub fn shop_source(id: &str, secrets: &[&str]) -> String {
    let secrets: Vec<String> = secrets.iter().map(|s| format!("\"{s}\"")).collect();
    shopify_entry(id, &format!("[{}]", secrets.join(", ")))
}

/// A Shopify webhook source entry with one secret.
pub fn shopify_source(id: &str, secret: &str) -> String {
    shopify_entry(id, &format!("\"{secret}\""))
}

/// The entry, with `secret` already TOML (a string or an array of them).
fn shopify_entry(id: &str, secret: &str) -> String {
    format!(
        r#"
[[sources]]
id = "{id}"
kind = "webhook"
preset = "shopify"
secret = {secret}
storefront_url = "https://shop.example"
"#
    )
}

pub fn feed_source(id: &str, url: &str) -> String {
    format!(
        r#"
[[sources]]
id = "{id}"
kind = "feed"
url = "{url}"
allow_private = true
backfill = "all"
"#
    )
}

pub fn route(source: &str, board: &str) -> String {
    format!(
        r#"
[[routes]]
source = "{source}"
board = "{board}"
create_missing = true
"#
    )
}
