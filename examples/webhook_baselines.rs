//! Baselines for the webhook throughput benchmark (`bench/webhook_bench.sh`): the same Shopify
//! request served by handlers that do less than pinbridge does.
//!
//! `cargo run --release --example webhook_baselines -- --mode noop|hmac|sled-group
//!   [--listen 127.0.0.1:8090] [--secret S] [--dir PATH]`
//!
//! - `noop`: answer 200 at once.
//! - `hmac`: verify `X-Shopify-Hmac-Sha256` (HMAC-SHA256 of the body, base64), then 200.
//! - `sled-group`: verify, insert the event id into one sled tree, then wait for a shared
//!   group-commit flush (one flusher thread: `flush()` + fsync of sled's data file, waking every
//!   writer whose insert the flush covers) before answering 200.

use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Noop,
    Hmac,
    SledGroup,
}

struct App {
    mode: Mode,
    secret: Vec<u8>,
    sled: Option<(sled::Tree, Arc<Group>)>,
}

/// Group commit: writers take a ticket after their insert and wait for a flush that began later.
#[derive(Default)]
struct Group {
    tickets: AtomicU64,
    waiters: Mutex<Vec<(u64, oneshot::Sender<()>)>>,
    wake: Condvar,
}

impl Group {
    async fn wait_durable(&self) {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst) + 1;
        let (tx, rx) = oneshot::channel();
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((ticket, tx));
        self.wake.notify_one();
        let _ = rx.await;
    }

    fn run(&self, db: &sled::Db, file: &File) {
        loop {
            {
                let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
                while waiters.is_empty() {
                    waiters = self.wake.wait(waiters).unwrap_or_else(|e| e.into_inner());
                }
            }
            let covered = self.tickets.load(Ordering::SeqCst);
            if let Err(e) = db.flush().map(|_| ()).and_then(|()| Ok(file.sync_all()?)) {
                eprintln!("flush failed: {e}");
                std::process::exit(1);
            }
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            let pending = std::mem::take(&mut *waiters);
            for (ticket, tx) in pending {
                if ticket <= covered {
                    let _ = tx.send(());
                } else {
                    waiters.push((ticket, tx));
                }
            }
        }
    }
}

async fn handle(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if app.mode == Mode::Noop {
        return StatusCode::OK;
    }
    let Some(signature) = headers
        .get("x-shopify-hmac-sha256")
        .and_then(|v| STANDARD.decode(v.as_bytes()).ok())
    else {
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&app.secret) else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    mac.update(&body);
    if mac.verify_slice(&signature).is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let Some((tree, group)) = &app.sled else {
        return StatusCode::OK;
    };
    let key = headers
        .get("x-shopify-event-id")
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    let tree = tree.clone();
    let inserted = tokio::task::spawn_blocking(move || tree.insert(key, &b"1"[..])).await;
    if !matches!(inserted, Ok(Ok(_))) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    group.wait_durable().await;
    StatusCode::OK
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nusage: webhook_baselines --mode noop|hmac|sled-group [--listen ADDR] [--secret S] [--dir PATH]"
    );
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let mut mode = None;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 8090).into();
    let mut secret = "bench-secret".to_string();
    let mut dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--mode" => {
                mode = Some(match value().as_str() {
                    "noop" => Mode::Noop,
                    "hmac" => Mode::Hmac,
                    "sled-group" => Mode::SledGroup,
                    other => usage(&format!("unknown mode {other:?}")),
                })
            }
            "--listen" => {
                listen = value()
                    .parse()
                    .unwrap_or_else(|e| usage(&format!("--listen: {e}")))
            }
            "--secret" => secret = value(),
            "--dir" => dir = Some(PathBuf::from(value())),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    let mode = mode.unwrap_or_else(|| usage("--mode is required"));
    let _temp;
    let sled = if mode == Mode::SledGroup {
        let path = match dir {
            Some(d) => d,
            None => {
                _temp = tempfile::tempdir().unwrap_or_else(|e| usage(&format!("temp dir: {e}")));
                _temp.path().join("sled")
            }
        };
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .unwrap_or_else(|e| usage(&format!("sled at {}: {e}", path.display())));
        let file =
            File::open(path.join("db")).unwrap_or_else(|e| usage(&format!("sled data file: {e}")));
        let tree = db
            .open_tree("deliveries")
            .unwrap_or_else(|e| usage(&format!("sled tree: {e}")));
        let group = Arc::new(Group::default());
        let flusher = group.clone();
        std::thread::spawn(move || flusher.run(&db, &file));
        Some((tree, group))
    } else {
        None
    };
    let app = Arc::new(App {
        mode,
        secret: secret.into_bytes(),
        sled,
    });
    let router = Router::new()
        .route("/hooks/{source}", post(handle))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .unwrap_or_else(|e| usage(&format!("cannot listen on {listen}: {e}")));
    eprintln!("webhook_baselines listening on {listen}");
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("server failed: {e}");
    }
}
