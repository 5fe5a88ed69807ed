//! The sandbox's write-quota shapes (sliding minute, token bucket) and the headers its 429s
//! carry, as the API client reads them: `Retry-After` first, else `X-RateLimit-Reset`.

use std::time::Duration;

use pinbridge::pinterest::ApiError;
use pinbridge::pinterest::sandbox::{QuotaHeaders, QuotaKind, SandboxConfig};

use crate::support::pinterest::{Env, start};

fn bucket_of(per_minute: u32, headers: QuotaHeaders) -> SandboxConfig {
    SandboxConfig {
        write_quota_per_minute: Some(per_minute),
        write_quota_kind: QuotaKind::TokenBucket,
        quota_headers: headers,
        ..SandboxConfig::default()
    }
}

/// Create boards until the quota answers 429; returns how many got through and the wait.
async fn fill(env: &Env, prefix: &str) -> (usize, Option<Duration>) {
    let client = env.client();
    for i in 0..100 {
        match client.create_board(&format!("{prefix}{i}"), None).await {
            Ok(_) => {}
            Err(ApiError::RateLimited { retry_after, .. }) => return (i, retry_after),
            Err(other) => panic!("expected RateLimited, got {other:?}"),
        }
    }
    panic!("no 429 in 100 writes");
}

#[tokio::test]
async fn a_token_bucket_lets_its_burst_through_then_refills_evenly() {
    let env = start(bucket_of(6, QuotaHeaders::RetryAfter)).await;
    let (passed, wait) = fill(&env, "a").await;
    assert_eq!(passed, 6, "a full bucket holds a minute's writes");
    // 6 a minute: one token every 10 s.
    assert_eq!(wait, Some(Duration::from_secs(10)));
    env.clock.advance_ms(10_000);
    let (passed, _) = fill(&env, "b").await;
    assert_eq!(passed, 1, "one token back after 10 s");
    assert_eq!(env.sandbox.stats().rate_limited, 2);
}

#[tokio::test]
async fn without_retry_after_the_rate_limit_reset_is_the_wait() {
    let env = start(bucket_of(6, QuotaHeaders::RateLimit)).await;
    let (_, wait) = fill(&env, "a").await;
    assert_eq!(wait, Some(Duration::from_secs(10)));
    let resp = env
        .post("boards")
        .json(&serde_json::json!({"name": "raw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let h = resp.headers();
    assert!(h.get("retry-after").is_none());
    assert_eq!(h["x-ratelimit-limit"], "6");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(h["x-ratelimit-reset"], "10");
}

#[tokio::test]
async fn both_headers_or_neither() {
    let env = start(SandboxConfig {
        write_quota_per_minute: Some(2),
        quota_headers: QuotaHeaders::Both,
        ..SandboxConfig::default()
    })
    .await;
    let (passed, wait) = fill(&env, "a").await;
    assert_eq!((passed, wait), (2, Some(Duration::from_secs(60))));
    let env = start(bucket_of(6, QuotaHeaders::Neither)).await;
    let (passed, wait) = fill(&env, "a").await;
    assert_eq!((passed, wait), (6, None), "only the 429 itself");
}
