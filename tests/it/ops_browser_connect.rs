//! "Connect Pinterest account" in a real browser, end to end: the whole service (engine
//! included) with an account that has no tokens, the sandbox Pinterest on another site
//! (`localhost` against pinbridge's `127.0.0.1`, so the browser applies its cross-site cookie
//! rules as it would between pinterest.com and pinbridge). Headless Chromium signs in, clicks
//! Connect, sees the sandbox's consent page, clicks Allow, lands on pinbridge's callback page
//! and goes back to the status page, still signed in. The tokens are sealed in the store (no
//! plaintext in its files) and the engine pins with them. Keeps a screenshot of the consent
//! page at `<target dir>/test-artifacts/connect-consent.png`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chromiumoxide::page::ScreenshotParams;
use pinbridge::app::App;
use pinbridge::clock::SystemClock;
use pinbridge::config::Config;
use pinbridge::pinterest::sandbox::{Sandbox, SandboxConfig};
use pinbridge::store::Store;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::browser::{Chromium, artifact_dir, html_when, sign_in};
use crate::support::config::{ADMIN, route, shopify_source};
use crate::support::connect::{TOKEN_KEY, vault};

fn config(base: &str, store: &std::path::Path, api: &str, authorize: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "{base}"
admin_token = "{ADMIN}"
shutdown_grace = "5s"

[store]
path = "{store}"
token_keys = "1:{TOKEN_KEY}"

[pinterest]
api_base = "{api}"
authorize_url = "{authorize}"
client_id = "1480000"
client_secret = "sandbox-client-secret"
timeout = "5s"

[[accounts]]
name = "main"
{shop}{route}"#,
        store = store.display(),
        shop = shopify_source("shop", "shop-secret"),
        route = route("shop", "Products"),
    )
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path));
        } else if let Ok(content) = std::fs::read(&path) {
            bytes.extend(content);
        }
    }
    bytes
}

#[tokio::test]
async fn chromium_connects_an_account_through_the_sandbox_consent_page() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let stop = CancellationToken::new();
    let sandbox = Sandbox::new(SandboxConfig::default());
    sandbox.create_user("alice");
    let sandbox_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_port = sandbox_listener.local_addr().unwrap().port();
    sandbox.spawn(sandbox_listener, stop.clone());
    let api = format!("http://127.0.0.1:{sandbox_port}/v5/");
    // Another site than pinbridge's 127.0.0.1: the browser's way back is a cross-site one.
    let authorize = format!("http://localhost:{sandbox_port}/oauth/");

    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let path = dir.path().join("pinbridge.toml");
    std::fs::write(&path, config(&base, &store_dir, &api, &authorize)).unwrap();
    let config = Config::load(&path).expect("valid config");
    let store: Arc<dyn Store> = Arc::new(crate::support::app::open_store(&store_dir).await);
    let app = App::build_with_store(&config, Arc::new(SystemClock), store.clone())
        .await
        .expect("built");
    let service = tokio::spawn(app.run(listener, stop.clone()));

    let browser = &chromium.browser;

    let page = browser.new_page(format!("{base}/")).await.unwrap();
    html_when(&page, "the login form", |h| h.contains("id=\"login\"")).await;
    let html = page.content().await.unwrap();
    assert!(
        !html.contains("class=\"connect\""),
        "no Connect before sign-in"
    );
    sign_in(&page, ADMIN).await;
    html_when(&page, "the Connect button", |h| {
        h.contains("class=\"connect\"")
    })
    .await;

    page.find_element("button.connect")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let consent = html_when(&page, "the sandbox's consent page", |h| {
        h.contains("id=\"allow\"")
    })
    .await;
    for expected in [
        "alice",
        "user_accounts:read",
        "pins:write",
        "boards:read_secret",
    ] {
        assert!(consent.contains(expected), "{expected} on {consent}");
    }
    let shot = artifact_dir().join("connect-consent.png");
    std::fs::create_dir_all(artifact_dir()).unwrap();
    let png = page
        .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &shot)
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    page.find_element("#allow")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let done = html_when(&page, "pinbridge's callback page", |h| {
        h.contains("id=\"connected\"") || h.contains("id=\"connect-error\"")
    })
    .await;
    assert!(done.contains("main is connected"), "{done}");
    assert!(!done.contains("code="), "the code is not on the page");

    page.find_element("#back")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let status = html_when(&page, "the status page, signed in", |h| {
        h.contains("id=\"accounts\"")
    })
    .await;
    let card = account_card(&status, "main");
    assert!(card.contains("class=\"badge\">ok</span>"), "{card}");
    assert!(
        card.contains("<dd>stored (refreshed by pinbridge)</dd>"),
        "the card names the stored token: {card}"
    );

    // Sealed in the store: the record opens with the key, and no store file holds the token.
    let blob = store
        .account_state("main")
        .await
        .unwrap()
        .tokens
        .expect("tokens stored");
    let (tokens, _) = vault().open("main", &blob).unwrap();
    let access = tokens.access_token.expose_secret().to_string();
    assert!(access.len() >= 16, "a real token to look for");
    let files = all_bytes(&store_dir);
    assert!(
        !files.windows(access.len()).any(|w| w == access.as_bytes()),
        "no plaintext token in the store files"
    );

    // The engine pins with the new tokens.
    let status =
        crate::support::shopify::send(&reqwest::Client::new(), &base, "shop", "shop-secret", 7)
            .await;
    assert_eq!(status, Some(200));
    let start = Instant::now();
    while sandbox.pins().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no Pin was created with the connected account"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pin = &sandbox.pins()[0];
    assert_eq!(pin.board_name, "Products");

    chromium.close().await;
    stop.cancel();
    service.await.unwrap().expect("clean stop");
}

/// The status page's card for one account (the page marks each with `data-account`).
fn account_card<'a>(html: &'a str, account: &str) -> &'a str {
    let start = html
        .find(&format!("data-account=\"{account}\""))
        .unwrap_or_else(|| panic!("no card for {account}: {html}"));
    let end = html[start..]
        .find("</article>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}
