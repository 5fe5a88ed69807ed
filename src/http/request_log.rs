//! One log line per answered request: status and duration, inside the request's `http` span
//! (which carries the request id, method and redacted path). Health probes and scrapes are
//! logged at debug: a load balancer and Prometheus hit them every few seconds and would
//! bury everything else at info.

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;

/// Paths that probes and scrapers poll.
const PROBE_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Marks a response as answering a probe, for [`log_response`] (it sees the response only).
#[derive(Clone, Copy, Debug)]
struct Probe;

/// Middleware (inside the trace layer): tag answers to probe paths with [`Probe`].
pub async fn mark_probes(request: Request, next: Next) -> Response {
    let probe = PROBE_PATHS.contains(&request.uri().path());
    let mut response = next.run(request).await;
    if probe {
        response.extensions_mut().insert(Probe);
    }
    response
}

/// The trace layer's `on_response`: the request log line.
pub fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let duration_ms = latency.as_secs_f64() * 1000.0;
    if response.extensions().get::<Probe>().is_some() {
        tracing::debug!(status, duration_ms, "Request answered.");
    } else {
        tracing::info!(status, duration_ms, "Request answered.");
    }
}
