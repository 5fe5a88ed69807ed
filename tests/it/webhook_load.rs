//! A load run of the receiver (ignored by default; prints figures, asserts only correctness):
//! `cargo test --release --test it webhook_load -- --ignored --nocapture`
//! Knobs: `WEBHOOK_LOAD_N` deliveries (default 2000), `WEBHOOK_LOAD_C` concurrent senders (32).

use std::time::Instant;

use futures::StreamExt;

use crate::support::webhook::*;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "load run: prints throughput; run with --ignored --nocapture"]
async fn webhook_load() {
    let (n, c) = (knob("WEBHOOK_LOAD_N", 2000), knob("WEBHOOK_LOAD_C", 32));
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let h = Harness::start(vec![("load", standard_settings(secret))], 1_700_000_000_000).await;
    let requests: Vec<_> = (0..n)
        .map(|i| {
            // Every tenth delivery repeats an earlier id: the duplicate path is exercised too.
            let id = if i % 10 == 9 { i - 1 } else { i };
            let body = format!(
                r#"{{"id":"p{id}","title":"Product {id}","image":"https://img.example/{id}.jpg"}}"#
            );
            let headers =
                sign_standard(secret, &format!("msg_{id}"), 1_700_000_000, body.as_bytes());
            (headers, body)
        })
        .collect();
    let started = Instant::now();
    let mut latencies: Vec<f64> = Vec::with_capacity(n);
    let mut statuses = std::collections::BTreeMap::new();
    let mut results = futures::stream::iter(requests)
        .map(|(headers, body)| {
            let h = &h;
            async move {
                let t = Instant::now();
                let reply = h.post("load", &headers, body).await;
                (
                    reply.status,
                    reply.answer().to_string(),
                    t.elapsed().as_secs_f64() * 1000.0,
                )
            }
        })
        .buffer_unordered(c);
    while let Some((status, answer, ms)) = results.next().await {
        *statuses
            .entry(format!("{status} {answer}"))
            .or_insert(0usize) += 1;
        latencies.push(ms);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "webhook load: {n} deliveries, {c} concurrent, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {statuses:?}",
        n as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    let duplicates = n / 10;
    assert_eq!(statuses.get("200 accepted"), Some(&(n - duplicates)));
    assert_eq!(statuses.get("200 duplicate"), Some(&duplicates));
    assert_eq!(h.job_count().await, n - duplicates);
}
