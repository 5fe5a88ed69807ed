//! Pin analytics through the client against the sandbox: deterministic daily figures that
//! start with the Pin, the batch call and its refusal, the checks the description asks for
//! (dates, metric types, ids, 404, scope), the `org_analytics` quota apart from the write
//! quota with its own forced 429s, and every recorded request and answer checked against the
//! official description.

use std::collections::HashMap;

use pinbridge::pinterest::ApiError;
use pinbridge::pinterest::analytics::{DayFigures, day_to_date};
use pinbridge::pinterest::sandbox::{Exchange, Faults, SandboxConfig};
use serde_json::Value;

use crate::support::openapi::{Dir, spec};
use crate::support::pinterest::{Env, T0, pin, start, unlimited};

const DAY: i64 = 86_400_000;
/// The day the test Pins are made (2025-01-01).
const MADE: i64 = T0 / DAY;

/// A sandbox whose clock stands 10 days after alice made two Pins.
async fn with_pins(config: SandboxConfig) -> (Env, Vec<String>) {
    let env = start(config).await;
    let client = env.client();
    let board = client.create_board("Decor", None).await.unwrap();
    let mut ids = Vec::new();
    for title in ["Lamp", "Rug"] {
        ids.push(client.create_pin(&pin(&board.id, title)).await.unwrap().id);
    }
    env.clock.advance_ms(10 * DAY + 3_600_000);
    (env, ids)
}

fn analytics_uri(pin: &str, query: &str) -> String {
    format!("pins/{pin}/analytics?{query}")
}

fn dates(from: i64, to: i64) -> String {
    format!(
        "start_date={}&end_date={}",
        day_to_date(from),
        day_to_date(to)
    )
}

#[tokio::test]
async fn figures_are_daily_deterministic_and_start_with_the_pin() {
    let (env, ids) = with_pins(unlimited()).await;
    let client = env.client();
    let today = MADE + 10;
    let days = client
        .pin_analytics(&ids[0], MADE - 2, today)
        .await
        .unwrap();
    assert_eq!(days.len(), 13, "one entry per day asked for");
    assert_eq!(days[0].day, MADE - 2);
    for before in &days[..2] {
        assert_eq!(
            *before,
            DayFigures {
                day: before.day,
                ready: true,
                ..DayFigures::default()
            },
            "nothing before the Pin was made"
        );
    }
    for day in &days[2..] {
        assert!(day.impressions > 0, "{day:?}");
        assert!(day.impressions >= day.pin_clicks && day.pin_clicks >= day.outbound_clicks);
        assert!(day.saves < day.impressions);
        assert_eq!(day.video_starts, 0, "an image Pin has no video starts");
    }
    assert!(days[..12].iter().all(|d| d.ready));
    assert!(!days[12].ready, "today is still processing");
    assert_eq!(
        client
            .pin_analytics(&ids[0], MADE - 2, today)
            .await
            .unwrap(),
        days,
        "the same Pin and days give the same figures"
    );
    let other = client.pin_analytics(&ids[1], MADE, today).await.unwrap();
    assert_ne!(other, days[2..], "another Pin has its own figures");

    // The batch call answers the same figures for each Pin.
    let batch = client.pins_analytics(&ids, MADE - 2, today).await.unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[&ids[0]], days);
    assert_eq!(batch[&ids[1]][2..], other[..]);

    // Split by app type, the parts add up to the whole.
    let split = env
        .get(&analytics_uri(
            &ids[0],
            &format!(
                "{}&metric_types=IMPRESSION&split_field=APP_TYPE",
                dates(MADE, MADE + 3)
            ),
        ))
        .send()
        .await
        .unwrap();
    let split: HashMap<String, Value> = split.json().await.unwrap();
    let mut keys: Vec<&String> = split.keys().collect();
    keys.sort();
    assert_eq!(keys, ["MOBILE", "TABLET", "WEB"]);
    for (i, day) in days[2..6].iter().enumerate() {
        let parts: u64 = split
            .values()
            .map(|v| {
                v["daily_metrics"][i]["metrics"]["IMPRESSION"]
                    .as_u64()
                    .unwrap()
            })
            .sum();
        assert_eq!(parts, day.impressions);
    }
}

#[tokio::test]
async fn requests_are_checked_as_the_description_says() {
    // Tokens that outlive the 100 days the clock moves below.
    let (env, ids) = with_pins(SandboxConfig {
        access_token_ttl: std::time::Duration::from_secs(400 * 86_400),
        ..unlimited()
    })
    .await;
    let today = MADE + 10;
    let status = |uri: String| {
        let request = env.get(&uri);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let metric = "metric_types=IMPRESSION,SAVE";
    let ok = format!("{}&{metric}", dates(MADE, today));
    assert_eq!(status(analytics_uri(&ids[0], &ok)).await, 200);
    for (bad, why) in [
        (
            format!("end_date={}&{metric}", day_to_date(today)),
            "no start_date",
        ),
        (
            format!("start_date={}&{metric}", day_to_date(MADE)),
            "no end_date",
        ),
        (dates(MADE, today), "no metric_types"),
        (
            format!("{}&{metric}", dates(today - 91, today - 80)),
            "start more than 90 days back",
        ),
        (
            format!("{}&{metric}", dates(today, MADE)),
            "end before start",
        ),
        (
            format!("start_date=2025-13-01&end_date=2025-01-02&{metric}"),
            "not a date",
        ),
        (
            format!("{}&metric_types=IMPRESSION,CLICKS", dates(MADE, today)),
            "unknown metric",
        ),
        (format!("{ok}&app_types=PHONE"), "unknown app type"),
        (
            format!("{ok}&split_field=SOURCE"),
            "split the Pin call does not offer",
        ),
    ] {
        assert_eq!(status(analytics_uri(&ids[0], &bad)).await, 400, "{why}");
    }
    // A span over 90 days, within 90 days back, cannot be asked for: the end would be in the
    // future by then; the check still holds for a clock further on.
    env.clock.advance_ms(100 * DAY);
    let later = MADE + 110;
    assert_eq!(
        status(analytics_uri(
            &ids[0],
            &format!("{}&{metric}", dates(later - 90, later + 1))
        ))
        .await,
        400,
        "more than 90 days"
    );
    assert_eq!(
        status(analytics_uri(
            "12345",
            &format!("{}&{metric}", dates(later - 5, later))
        ))
        .await,
        404,
        "a Pin the sandbox does not hold"
    );

    let batch = |ids: &[String]| {
        let pins: String = ids.iter().map(|id| format!("pin_ids={id}&")).collect();
        format!("pins/analytics?{pins}{}&{metric}", dates(later - 5, later))
    };
    assert_eq!(status(batch(&ids)).await, 200);
    let many: Vec<String> = (0..101).map(|n| format!("{}", 1000 + n)).collect();
    assert_eq!(status(batch(&many)).await, 400, "more than 100 ids");
    assert_eq!(status(batch(&["12a".to_string()])).await, 400, "not an id");
    assert_eq!(status(batch(&[])).await, 400, "no ids");
    assert_eq!(
        status(batch(&[ids[0].clone(), "12345".into()])).await,
        404,
        "one Pin it does not hold"
    );

    // The operation needs `pins:read`.
    let boards_only = env.sandbox.reauthorize(&env.user, "boards:read");
    let refused = env
        .http
        .get(env.base.join(&analytics_uri(&ids[0], &ok)).unwrap())
        .bearer_auth(&boards_only.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
}

#[tokio::test]
async fn an_app_without_the_beta_is_refused_the_batch_call() {
    let (env, ids) = with_pins(SandboxConfig {
        batch_analytics: false,
        ..unlimited()
    })
    .await;
    let client = env.client();
    let refused = client
        .pins_analytics(&ids, MADE, MADE + 3)
        .await
        .unwrap_err();
    assert!(refused.batch_unavailable(), "{refused}");
    assert!(matches!(refused, ApiError::Forbidden { code: Some(3), .. }));
    // The single-Pin call stays open.
    client.pin_analytics(&ids[0], MADE, MADE + 3).await.unwrap();
}

#[tokio::test]
async fn the_analytics_quota_is_its_own_with_its_own_forced_429s() {
    let (env, ids) = with_pins(SandboxConfig {
        analytics_quota_per_minute: Some(3),
        write_quota_per_minute: Some(3),
        ..SandboxConfig::default()
    })
    .await;
    let client = env.client();
    let board = client.list_boards().await.unwrap().remove(0);
    // Use the write quota up; analytics calls are not affected.
    for n in 0..3 {
        client
            .create_pin(&pin(&board.id, &format!("Vase {n}")))
            .await
            .unwrap();
    }
    let limited = client
        .create_pin(&pin(&board.id, "Vase"))
        .await
        .unwrap_err();
    assert!(matches!(limited, ApiError::RateLimited { .. }), "{limited}");
    for _ in 0..3 {
        client.pin_analytics(&ids[0], MADE, MADE + 1).await.unwrap();
    }
    let over = client
        .pin_analytics(&ids[0], MADE, MADE + 1)
        .await
        .unwrap_err();
    let ApiError::RateLimited { retry_after, .. } = over else {
        panic!("expected a 429, got {over}");
    };
    assert_eq!(retry_after.map(|d| d.as_secs()), Some(60));
    // The batch call takes from the same quota.
    assert!(matches!(
        client.pins_analytics(&ids, MADE, MADE + 1).await,
        Err(ApiError::RateLimited { .. })
    ));
    env.clock.advance_ms(60_000);
    client.pins_analytics(&ids, MADE, MADE + 1).await.unwrap();
    client.create_pin(&pin(&board.id, "Vase")).await.unwrap();

    // Forced analytics 429s hit analytics calls only.
    env.sandbox.set_faults(Faults {
        analytics_burst_429: 1,
        burst_retry_after: Some(7),
        ..Faults::default()
    });
    client.get_pin(&ids[0]).await.unwrap();
    let forced = client
        .pin_analytics(&ids[1], MADE, MADE + 1)
        .await
        .unwrap_err();
    assert!(
        matches!(forced, ApiError::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 7),
        "{forced}"
    );
    client.pin_analytics(&ids[1], MADE, MADE + 1).await.unwrap();
    let stats = env.sandbox.stats();
    assert_eq!(stats.analytics_rate_limited, 3);
    assert_eq!(stats.analytics_requests, 8);
}

/// Every recorded analytics exchange: its query parameters (arrays as the description styles
/// them) and its answer against the operation in the description.
#[tokio::test]
async fn requests_and_answers_match_the_description() {
    let mut exchanges: Vec<Exchange> = Vec::new();
    for batch_analytics in [true, false] {
        let (env, ids) = with_pins(SandboxConfig {
            batch_analytics,
            analytics_quota_per_minute: Some(4),
            ..unlimited()
        })
        .await;
        env.sandbox.start_recording();
        let client = env.client();
        let _ = client.pin_analytics(&ids[0], MADE - 1, MADE + 10).await;
        let _ = client.pins_analytics(&ids, MADE, MADE + 10).await;
        let _ = client.pin_analytics("12345", MADE, MADE + 1).await;
        let _ = client.pin_analytics(&ids[0], MADE + 1, MADE).await;
        for _ in 0..3 {
            let _ = client.pin_analytics(&ids[1], MADE, MADE + 1).await;
        }
        let _ = env
            .get(&analytics_uri(
                &ids[0],
                &format!(
                    "{}&metric_types=IMPRESSION,SAVE_RATE,TOTAL_COMMENTS&split_field=APP_TYPE&app_types=WEB",
                    dates(MADE, MADE + 2)
                ),
            ))
            .send()
            .await;
        exchanges.extend(env.sandbox.take_recording());
    }
    let spec = spec();
    let mut problems = Vec::new();
    let mut statuses = std::collections::BTreeSet::new();
    for ex in exchanges.iter().filter(|e| e.uri.contains("analytics")) {
        let route = ex.route.as_deref().unwrap_or("?");
        let path = route.trim_start_matches("/v5");
        let label = format!("{} {} -> {}", ex.method, ex.uri, ex.status);
        let Some(op) = spec.operation(&ex.method, path) else {
            problems.push(format!("{label}: no such operation"));
            continue;
        };
        statuses.insert((path.to_string(), ex.status));
        let request_errs = check_query(op, &ex.uri);
        if ex.status == 400 {
            // A 400 follows a request the description forbids, or one it cannot express
            // (an end before the start, a range too long or too far back).
        } else {
            problems.extend(request_errs.into_iter().map(|e| format!("{label}: {e}")));
        }
        match spec.response_schema(op, ex.status) {
            Err(e) => problems.push(format!("{label}: {e}")),
            Ok(None) => problems.push(format!("{label}: no JSON answer declared")),
            Ok(Some(schema)) => {
                let body: Value = serde_json::from_slice(&ex.response_body).unwrap();
                for e in spec.validate(schema, &body, Dir::Response, true) {
                    problems.push(format!("{label}: answer {e}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (path, status) in [
        ("/pins/{pin_id}/analytics", 200),
        ("/pins/{pin_id}/analytics", 400),
        ("/pins/{pin_id}/analytics", 404),
        ("/pins/{pin_id}/analytics", 429),
        ("/pins/analytics", 200),
        ("/pins/analytics", 403),
    ] {
        assert!(
            statuses.contains(&(path.to_string(), status)),
            "{path} {status} not checked; saw {statuses:?}"
        );
    }
}

/// The query of `uri` against the operation's parameters: required ones present, none
/// undeclared, each value valid (arrays split as their style says: `explode: false` is one
/// comma-separated value, the default form style repeats the name).
fn check_query(op: &Value, uri: &str) -> Vec<String> {
    let spec = spec();
    let url = url::Url::parse(&format!("http://x{uri}")).unwrap();
    let mut given: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url.query_pairs().into_owned() {
        given.entry(k).or_default().push(v);
    }
    let mut errs = Vec::new();
    let mut declared = Vec::new();
    for p in op["parameters"].as_array().unwrap() {
        let p = spec.resolve(p);
        if p["in"] != "query" {
            continue;
        }
        let name = p["name"].as_str().unwrap();
        declared.push(name.to_string());
        let Some(raw) = given.get(name) else {
            if p["required"] == Value::Bool(true) {
                errs.push(format!("required parameter {name} missing"));
            }
            continue;
        };
        let mut schema = spec.resolve(&p["schema"]).clone();
        // The metric types' `oneOf` lists two enums that share most values (IMPRESSION is in
        // both), so no value can match exactly one branch: the description means "any of".
        if let Some(items) = schema.get_mut("items")
            && let Some(branches) = items.get("oneOf").cloned()
        {
            *items = serde_json::json!({ "anyOf": branches });
        }
        let schema = &schema;
        let value = if schema["type"] == "array" {
            let items: Vec<Value> = if p["explode"] == Value::Bool(false) {
                if raw.len() > 1 {
                    errs.push(format!("{name} repeated, but it is not exploded"));
                }
                raw[0].split(',').map(Value::from).collect()
            } else {
                raw.iter().map(|v| Value::from(v.as_str())).collect()
            };
            Value::Array(items)
        } else {
            Value::from(raw[0].as_str())
        };
        errs.extend(
            spec.validate(schema, &value, Dir::Request, false)
                .into_iter()
                .map(|e| format!("parameter {name}: {e}")),
        );
    }
    for key in given.keys() {
        if !declared.contains(key) {
            errs.push(format!("parameter {key} is not declared"));
        }
    }
    errs
}
