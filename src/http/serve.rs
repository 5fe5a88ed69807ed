//! Serving a router on a listener with bounds on what a client can hold: a header-read timeout,
//! a body-read timeout, a whole-request timeout and a cap on open connections; and a shutdown
//! that closes whatever is still open when the grace period ends.
//!
//! `axum::serve` has none of these: a client that never finishes its request headers keeps its
//! socket (and a task) forever, and graceful shutdown waits for it. So connections are served
//! here with hyper's HTTP/1 server directly (HTTP/1.1 is what load balancers and webhook
//! senders speak to pinbridge).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

use crate::config::ServerConfig;

/// What a listener allows one client.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The request line and headers must arrive within this (also bounds idle keep-alive).
    pub header_read_timeout: Duration,
    /// The longest wait for the next piece of a request body.
    pub body_read_timeout: Duration,
    /// The longest a request may take from its headers to its answer (408 past it).
    pub request_timeout: Duration,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// After shutdown starts, how long open connections may finish before they are closed.
    pub shutdown_grace: Duration,
}

impl Limits {
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            header_read_timeout: server.header_read_timeout,
            body_read_timeout: server.body_read_timeout,
            request_timeout: server.request_timeout,
            max_connections: server.max_connections,
            shutdown_grace: server.shutdown_grace,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_config(&ServerConfig::default())
    }
}

/// The answer to a connection over the cap, written without reading the request (the client
/// sees why it was refused instead of a bare reset, and may retry).
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
connection: close\r\nretry-after: 1\r\ncontent-length: 21\r\n\r\ntoo many connections\n";

/// Serve `router` on `listener` until `shutdown` is cancelled, then give open connections
/// `limits.shutdown_grace` to finish their requests and close the rest. Each request carries
/// the client's address as [`ConnectInfo<SocketAddr>`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = router
        .layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            // Reap finished connections so the set does not grow with every one ever served.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "Could not accept a connection.");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("pinbridge_http_connections_refused_total").increment(1);
            refuse(stream);
            continue;
        };
        connections.spawn(connection(
            stream,
            peer,
            router.clone(),
            limits.header_read_timeout,
            shutdown.clone(),
            permit,
        ));
    }
    drop(listener);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace = ?limits.shutdown_grace,
            "Closing connections still open after the shutdown grace period."
        );
        connections.shutdown().await;
    }
    Ok(())
}

fn refuse(stream: TcpStream) {
    // Best effort and non-blocking: a full send buffer just means a plain close.
    let _ = stream.try_write(OVER_CAPACITY);
    tracing::debug!("Connection refused: at server.max_connections.");
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.cancelled() => {
            // Finish the request in flight, then close; `serve` bounds how long this may take.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "Connection ended with an error.");
    }
}
