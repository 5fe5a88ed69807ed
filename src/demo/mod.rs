//! `pinbridge demo`: the whole path on loopback, with no account, no config and no network.
//!
//! It starts the local Pinterest sandbox, serves a sample RSS feed, runs the bridge with the
//! embedded `config/demo.toml`, sends one signed Shopify webhook, waits until every queued Pin
//! is made and prints them; then, a week later on its own clock, prints what they earned per
//! source (`report.rs`) and exits 0.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use hmac::KeyInit;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod report;

use crate::app::App;
use crate::config::Config;
use crate::item::SourceId;
use crate::pinterest::sandbox::{Sandbox, SandboxConfig};
use crate::sync::SyncEvent;

const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");
const SAMPLE_FEED: &str = include_str!("sample-feed.xml");
const SHOP_PRODUCT: &str = include_str!("shop-product.json");
const SHOP_SECRET: &str = "demo-shopify-secret";
/// Long enough for a slow CI machine; the demo normally finishes in about a second.
const DEADLINE: Duration = Duration::from_secs(60);

pub async fn run(data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let data = data_dir.unwrap_or_else(|| temp.path().to_path_buf());

    let sandbox_config = SandboxConfig::default();
    let client_id = sandbox_config.client_id.clone();
    let client_secret = sandbox_config.client_secret.clone();
    // One clock for the sandbox and the bridge, so the demo can move both a week ahead.
    let clock = Arc::new(report::DemoClock::default());
    let sandbox = Sandbox::with_clock(sandbox_config, clock.clone());
    let user = sandbox.create_user("demo-pinner");
    let sandbox_addr = spawn_router(sandbox.router(), &shutdown).await?;
    let feed_addr = spawn_router(
        Router::new().route(
            "/feed.xml",
            get(|| async { ([("content-type", "application/rss+xml")], SAMPLE_FEED) }),
        ),
        &shutdown,
    )
    .await?;

    let vars: HashMap<&str, String> = HashMap::from([
        ("PINBRIDGE_DEMO_DATA", data.display().to_string()),
        ("PINBRIDGE_DEMO_API", format!("http://{sandbox_addr}/v5/")),
        ("PINBRIDGE_DEMO_CLIENT_ID", client_id),
        (
            "PINBRIDGE_DEMO_CLIENT_SECRET",
            client_secret.expose_secret().to_string(),
        ),
        ("PINBRIDGE_DEMO_ACCESS_TOKEN", user.access_token.clone()),
        ("PINBRIDGE_DEMO_REFRESH_TOKEN", user.refresh_token.clone()),
        (
            "PINBRIDGE_DEMO_FEED",
            format!("http://{feed_addr}/feed.xml"),
        ),
        ("PINBRIDGE_DEMO_TOKEN_KEY", random_key()),
    ]);
    let config = Config::from_toml(DEMO_CONFIG, "config/demo.toml".as_ref(), &|name| {
        vars.get(name).cloned()
    })?;

    println!("pinbridge demo");
    println!("  Pinterest sandbox  http://{sandbox_addr}/v5/");
    println!("  sample feed        http://{feed_addr}/feed.xml");
    println!("  store              {}", data.display());
    println!();

    let app = App::build(&config, clock.clone()).await?;
    let store = app.store.clone();
    let mut events = app.engine.subscribe();
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let bridge_addr = listener.local_addr()?;
    let app_task = tokio::spawn(app.run(listener, shutdown.clone()));

    send_shop_webhook(bridge_addr).await?;

    let feed = SourceId::new("kitchen-blog");
    let mut made = 0usize;
    let finished = tokio::time::timeout(DEADLINE, async {
        loop {
            tokio::select! {
                event = events.recv() => {
                    if let Ok(event) = event {
                        made += show(event);
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            if settled(store.as_ref(), &feed).await? {
                // An outcome is stored before its event is sent: print what is still queued.
                tokio::time::sleep(Duration::from_millis(100)).await;
                while let Ok(event) = events.try_recv() {
                    made += show(event);
                }
                return anyhow::Ok(());
            }
        }
    })
    .await;

    let outcome = match finished {
        Ok(Ok(())) => summary(&sandbox, made, store.as_ref(), &clock, &config).await,
        Ok(Err(e)) => Err(e),
        Err(_) => Err(anyhow::anyhow!(
            "the demo did not finish within {DEADLINE:?}; run with PINBRIDGE_LOG=debug to see why"
        )),
    };
    shutdown.cancel();
    app_task.await.context("the bridge task panicked")??;
    outcome
}

/// What was made, then what it earned (while the bridge still runs: its collector fetches it).
async fn summary(
    sandbox: &Sandbox,
    made: usize,
    store: &dyn crate::store::Store,
    clock: &Arc<report::DemoClock>,
    config: &Config,
) -> anyhow::Result<()> {
    let pins = sandbox.pins();
    println!();
    println!(
        "{made} Pin(s) made; the sandbox now holds {} Pin(s) on {} board(s).",
        pins.len(),
        pins.iter()
            .map(|p| p.board_name.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    println!(
        "Items without an image were recorded as skipped, not sent to fail: `pinbridge items list` shows them."
    );
    if made == 0 {
        bail!("no Pin was made");
    }
    report::collect_and_report(store, clock, config).await?;
    Ok(())
}

/// Print one engine event; 1 if it was a Pin made.
fn show(event: SyncEvent) -> usize {
    match event {
        SyncEvent::PinCreated {
            board,
            section,
            pin_id,
            title,
            link,
            image_url,
            ..
        } => {
            let board = match section {
                Some(section) => format!("{board} / {section}"),
                None => board,
            };
            println!("📌 Pin {pin_id} on «{board}»");
            println!("     title  {}", title.unwrap_or_default());
            println!("     link   {}", link.unwrap_or_default());
            println!("     image  {image_url}");
            1
        }
        SyncEvent::Dead { job, error } => {
            println!("✗ job {job} failed: {error}");
            0
        }
        SyncEvent::Retrying { .. } => 0,
    }
}

/// A fresh 32-byte key, base64, for sealing tokens during this run.
fn random_key() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    base64::engine::general_purpose::STANDARD.encode(key)
}

/// Every job is finished (done or dead) and the feed's first poll is recorded.
async fn settled(store: &dyn crate::store::Store, feed: &SourceId) -> anyhow::Result<bool> {
    let stats = store.stats().await?;
    let open: u64 = ["pending", "leased", "retry", "unknown"]
        .iter()
        .map(|s| stats.jobs_by_state.get(*s).copied().unwrap_or(0))
        .sum();
    let finished: u64 = ["done", "dead"]
        .iter()
        .map(|s| stats.jobs_by_state.get(*s).copied().unwrap_or(0))
        .sum();
    Ok(open == 0 && finished > 0 && store.source_state(feed).await?.baselined)
}

async fn spawn_router(
    router: Router,
    shutdown: &CancellationToken,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let token = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
    });
    Ok(addr)
}

/// POST the sample product as Shopify would: HMAC-SHA256 of the raw body, base64.
async fn send_shop_webhook(bridge: std::net::SocketAddr) -> anyhow::Result<()> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(SHOP_SECRET.as_bytes()).expect("HMAC takes any key");
    mac.update(SHOP_PRODUCT.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let response = reqwest::Client::new()
        .post(format!("http://{bridge}/hooks/shop"))
        .header("content-type", "application/json")
        .header("x-shopify-topic", "products/create")
        .header("x-shopify-hmac-sha256", signature)
        .header("x-shopify-shop-domain", "demo-shop.myshopify.com")
        .header("x-shopify-event-id", "demo-event-1")
        .header("x-shopify-webhook-id", "demo-webhook-1")
        .header("x-shopify-api-version", "2026-04")
        .body(SHOP_PRODUCT)
        .send()
        .await
        .context("sending the demo webhook")?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    println!("→ Shopify webhook products/create answered {status} {body}");
    if !status.is_success() {
        bail!("the demo webhook was refused: {status} {body}");
    }
    Ok(())
}
