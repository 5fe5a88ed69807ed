//! Slow and stalled clients against the server's limits, with real TCP clients on loopback:
//! clients that never finish their headers, trickle a body or stall in it are closed; the
//! connection cap refuses extra connections with 503 while ordinary requests still work; and
//! shutdown ends within the grace period however many clients are stuck.
//!
//! Limits are short here (1–3 s) so the tests are quick; every wait for the server to act is a
//! bounded wait for a condition, far longer than the limit it checks.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use pinbridge::http::serve::{Limits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::support::slow_client::stalled;

/// How long any one condition may take before the test fails.
const BOUND: Duration = Duration::from_secs(30);

struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
}

async fn run(limits: Limits) -> Running {
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/echo",
            post(|body: Bytes| async move { body.len().to_string() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, router, limits, stop.clone()));
    Running { addr, stop, server }
}

fn limits(header: u64, max_connections: usize, grace: u64) -> Limits {
    Limits {
        header_read_timeout: Duration::from_secs(header),
        body_read_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(3),
        max_connections,
        shutdown_grace: Duration::from_secs(grace),
    }
}

/// Read until the server closes the connection (EOF or reset); returns what was read.
/// Panics if the connection is still open after [`BOUND`].
async fn closed_by_server(mut stream: TcpStream) -> String {
    let mut seen = Vec::new();
    let outcome = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok(),
        "the server kept a slow client's connection open"
    );
    String::from_utf8_lossy(&seen).into_owned()
}

/// One ordinary request on a fresh connection; its status line's code, if it got one.
async fn plain_get(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: pinbridge\r\nconnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut answer = String::new();
    tokio::time::timeout(BOUND, stream.read_to_string(&mut answer))
        .await
        .ok()?
        .ok()?;
    answer.get(9..12)?.parse().ok()
}

#[tokio::test]
async fn stalled_and_trickling_clients_are_closed() {
    let server = run(limits(1, 256, 5)).await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        let stream = stalled(server.addr).await;
        clients.push(tokio::spawn(closed_by_server(stream)));
    }
    // Headers complete, body promised but never sent: the body-read timeout.
    for _ in 0..5 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nhost: pinbridge\r\ncontent-length: 100\r\n\r\nab")
            .await
            .unwrap();
        clients.push(tokio::spawn(closed_by_server(stream)));
    }
    // A body trickled a byte at a time, each within the body timeout: the request timeout.
    let mut tricklers = Vec::new();
    for _ in 0..5 {
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        tricklers.push(tokio::spawn(async move {
            let head = b"POST /echo HTTP/1.1\r\nhost: pinbridge\r\ncontent-length: 1000\r\n\r\n";
            if write.write_all(head).await.is_err() {
                return;
            }
            for _ in 0..1000 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if write.write_all(b"x").await.is_err() {
                    return;
                }
            }
        }));
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let outcome = tokio::time::timeout(BOUND, read.read_to_end(&mut seen)).await;
            assert!(outcome.is_ok(), "a trickling client was never cut off");
            String::from_utf8_lossy(&seen).into_owned()
        }));
    }
    let mut answers = Vec::new();
    for client in clients {
        answers.push(client.await.unwrap());
    }
    // The trickled requests were answered 408 before being closed.
    assert!(
        answers[25..].iter().all(|a| a.starts_with("HTTP/1.1 408")),
        "{:?}",
        &answers[25..]
    );
    for trickler in tricklers {
        trickler.abort();
    }
    // The server is still fine for everyone else.
    assert_eq!(plain_get(server.addr).await, Some(200));
    server.stop.cancel();
    server.server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_connection_cap_refuses_extras_and_ordinary_requests_still_work() {
    // Headers may take 30 s: the stalled clients hold their slots for the whole test.
    let server = run(limits(30, 4, 5)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(stalled(server.addr).await);
    }
    // One slot left: an ordinary request gets through.
    assert_eq!(plain_get(server.addr).await, Some(200));
    // Fill the cap. A connection that gets in is kept open (it holds a slot), so within a few
    // tries every slot is taken and the next one is refused.
    let deadline = Instant::now() + BOUND;
    let refusal = loop {
        assert!(
            Instant::now() < deadline,
            "the cap never refused a connection"
        );
        // It sends nothing yet, so a refusal is read cleanly (no unread data, no reset).
        let mut extra = TcpStream::connect(server.addr).await.unwrap();
        let mut buf = vec![0u8; 256];
        match tokio::time::timeout(Duration::from_millis(500), extra.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => break String::from_utf8_lossy(&buf[..n]).into_owned(),
            // Accepted (no answer yet, it is stalled): it now holds a slot.
            _ => held.push(extra),
        }
    };
    assert!(
        refusal.starts_with("HTTP/1.1 503"),
        "an extra connection is told why: {refusal}"
    );
    assert!(held.len() <= 4, "never more than the cap: {}", held.len());
    // The slow clients go away: ordinary requests are served again.
    drop(held);
    let deadline = Instant::now() + BOUND;
    while plain_get(server.addr).await != Some(200) {
        assert!(Instant::now() < deadline, "slots were never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop.cancel();
    server.server.await.unwrap().unwrap();
}

#[tokio::test]
async fn shutdown_closes_slow_clients_after_the_grace_period() {
    // Headers could take a minute; the grace period is 1 s. Shutdown must not wait for them.
    let server = run(limits(60, 256, 1)).await;
    let mut clients = Vec::new();
    for _ in 0..50 {
        clients.push(stalled(server.addr).await);
    }
    // Served after them, so every stalled connection has been accepted.
    assert_eq!(plain_get(server.addr).await, Some(200));
    server.stop.cancel();
    let stopped = tokio::time::timeout(BOUND, server.server).await;
    assert!(stopped.is_ok(), "shutdown waited for slow clients");
    stopped.unwrap().unwrap().unwrap();
    for client in clients {
        closed_by_server(client).await;
    }
}
