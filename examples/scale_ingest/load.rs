//! The webhook load: Shopify `products/create` deliveries, each with its own product id and
//! event id, signed the way Shopify signs (HMAC-SHA256 of the raw body, base64, in
//! `X-Shopify-Hmac-Sha256`), sent over K keep-alive connections, each waiting for its ack.
//! The body is byte for byte what `bench/make_requests.py` writes (~194 bytes).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The product id of delivery `i` (as in `make_requests.py`).
pub fn product_id(i: usize) -> usize {
    1_000_000 + i
}

/// Delivery `i`'s body: the JSON `make_requests.py` writes, same field order and separators.
pub fn body(i: usize) -> String {
    let pid = product_id(i);
    format!(
        concat!(
            r#"{{"id":{pid},"title":"Bench product {i}","handle":"bench-{pid}","status":"active","#,
            r#""body_html":"A product used to measure webhook throughput.","#,
            r#""image":{{"src":"https://img.example/{pid}.jpg"}}}}"#
        ),
        pid = pid,
        i = i
    )
}

/// Shopify's signature: base64 of HMAC-SHA256(secret, raw body).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// What one phase of the load saw: per delivery, when its ack arrived and how long it took.
pub struct Phase {
    pub started: Instant,
    /// (ack time, ack latency), sorted by ack time.
    pub acks: Vec<(Instant, Duration)>,
    /// Answers other than 2xx, and transport errors.
    pub failed: usize,
}

impl Phase {
    /// Acks per second and the p99 ack latency over the last `window` acks of the phase. The
    /// window starts at the ack just before it (or at the phase's start when it is the whole
    /// phase), so a window of W acks spans W intervals.
    pub fn window(&self, window: usize) -> (f64, Duration) {
        let n = self.acks.len();
        if n == 0 {
            return (0.0, Duration::ZERO);
        }
        let w = window.min(n);
        let from = if w == n {
            self.started
        } else {
            self.acks[n - w - 1].0
        };
        let secs = self.acks[n - 1].0.duration_since(from).as_secs_f64();
        let mut latencies: Vec<Duration> = self.acks[n - w..].iter().map(|a| a.1).collect();
        latencies.sort();
        let p99 = latencies[((w * 99).div_ceil(100)).saturating_sub(1)];
        (w as f64 / secs.max(1e-9), p99)
    }

    /// Acks per second over the whole phase.
    pub fn rate(&self) -> f64 {
        match self.acks.last() {
            Some(last) => {
                self.acks.len() as f64 / last.0.duration_since(self.started).as_secs_f64()
            }
            None => 0.0,
        }
    }
}

/// Where and how to send.
pub struct Target {
    pub client: reqwest::Client,
    /// `http://host:port/hooks/<source>`
    pub hook_url: String,
    pub secret: Vec<u8>,
    pub run_id: String,
}

/// Send deliveries `from..to` over `connections` concurrent senders and wait for every ack.
pub async fn run_phase(target: &Arc<Target>, from: usize, to: usize, connections: usize) -> Phase {
    let next = Arc::new(AtomicUsize::new(from));
    let started = Instant::now();
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (target, next) = (target.clone(), next.clone());
        senders.spawn(async move {
            let mut acks = Vec::new();
            let mut failed = 0;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= to {
                    break;
                }
                let body = body(i);
                let signature = sign(&target.secret, body.as_bytes());
                let sent = Instant::now();
                let answer = target
                    .client
                    .post(&target.hook_url)
                    .header("content-type", "application/json")
                    .header("x-shopify-topic", "products/create")
                    .header("x-shopify-event-id", format!("ev-{}-{i}", target.run_id))
                    .header("x-shopify-hmac-sha256", signature)
                    .body(body)
                    .send()
                    .await;
                let ok = match answer {
                    Ok(answer) => {
                        let status = answer.status();
                        // Read the body so the connection is reused.
                        answer.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                if ok {
                    acks.push((Instant::now(), sent.elapsed()));
                } else {
                    failed += 1;
                }
            }
            (acks, failed)
        });
    }
    let mut phase = Phase {
        started,
        acks: Vec::with_capacity(to - from),
        failed: 0,
    };
    while let Some(done) = senders.join_next().await {
        let (acks, failed) = done.expect("a sender task panicked");
        phase.acks.extend(acks);
        phase.failed += failed;
    }
    phase.acks.sort_by_key(|a| a.0);
    phase
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_matches_make_requests_py() {
        // python3 bench/make_requests.py --count 1: the first line's body.
        assert_eq!(
            body(0),
            r#"{"id":1000000,"title":"Bench product 0","handle":"bench-1000000","status":"active","body_html":"A product used to measure webhook throughput.","image":{"src":"https://img.example/1000000.jpg"}}"#
        );
    }
}
