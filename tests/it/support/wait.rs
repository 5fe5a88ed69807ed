//! Waiting for something that happens in the background, with one deadline for all tests.

use std::time::{Duration, Instant};

pub const DEADLINE: Duration = Duration::from_secs(30);

/// Poll `check` until it holds; panics with `what` after the deadline.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
