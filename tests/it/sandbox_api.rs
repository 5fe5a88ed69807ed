//! The sandbox as a raw HTTP API: authentication, validation messages, pagination, deletes,
//! latency and the `pinbridge sandbox` entry point.

use std::time::Duration;

use pinbridge::pinterest::sandbox::{Faults, Sandbox, SandboxConfig, run_cli};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::pinterest::{Env, start, unlimited};

async fn body(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn create_pin(env: &Env, pin: Value) -> (u16, Value) {
    body(env.post("pins").json(&pin).send().await.unwrap()).await
}

fn image() -> Value {
    json!({"source_type": "image_url", "url": "https://img.example/a.jpg"})
}

#[tokio::test]
async fn unknown_or_missing_bearer_tokens_get_401() {
    let env = start(unlimited()).await;
    for auth in [Some("Bearer pina_unknown"), None] {
        let mut req = env.http.get(env.base.join("user_account").unwrap());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.headers().contains_key("x-pinterest-rid"));
        assert_eq!(
            body(resp).await,
            (401, json!({"code": 2, "message": "Authentication failed."}))
        );
    }
    assert_eq!(env.sandbox.stats().unauthorized, 2);
}

#[tokio::test]
async fn pin_creation_checks_fields_like_the_api() {
    let env = start(unlimited()).await;
    let board = env.sandbox.create_board(&env.user, "B");
    let cases = [
        (
            json!({"board_id": board, "title": "t"}),
            "Missing parameter: media_source.",
        ),
        (
            json!({"media_source": image()}),
            "Missing parameter: board_id.",
        ),
        (
            json!({"board_id": "12a", "media_source": image()}),
            "board_id must be a string of digits",
        ),
        (
            json!({"board_id": board, "media_source": {"source_type": "video_id", "media_id": "1"}}),
            "source_type `video_id` is not supported",
        ),
        (
            json!({"board_id": board, "media_source": {"source_type": "image_url"}}),
            "Missing parameter: media_source.url.",
        ),
        (
            json!({"board_id": board, "media_source": image(), "description": "d".repeat(801)}),
            "description is 801 characters long; the limit is 800",
        ),
        (
            json!({"board_id": board, "media_source": image(), "alt_text": "a".repeat(501)}),
            "alt_text is 501 characters long; the limit is 500",
        ),
        (
            json!({"board_id": board, "media_source": image(), "link": format!("https://x.example/{}", "l".repeat(2040))}),
            "link is 2058 characters long; the limit is 2048",
        ),
        (
            json!({"board_id": board, "media_source": image(), "link": "not a url"}),
            "link `not a url` is not a valid http(s) URL",
        ),
        (
            json!({"board_id": board, "media_source": image(), "title": 5}),
            "title must be a string",
        ),
    ];
    for (pin, expected) in cases {
        let (status, b) = create_pin(&env, pin.clone()).await;
        assert_eq!(status, 400, "{pin}");
        assert_eq!(b["code"], 1);
        let message = b["message"].as_str().unwrap();
        assert!(
            message.contains(expected),
            "{message:?} should contain {expected:?}"
        );
    }
    let resp = env.post("pins").body("{not json").send().await.unwrap();
    let (status, b) = body(resp).await;
    assert_eq!(status, 400);
    assert!(b["message"].as_str().unwrap().contains("not valid JSON"));

    // Exactly at the limits is fine, counted in characters.
    let ok = json!({"board_id": board, "media_source": image(), "title": "é".repeat(100),
        "description": null, "board_section_id": null});
    let (status, made) = create_pin(&env, ok).await;
    assert_eq!(status, 201);
    assert_eq!(made["title"].as_str().unwrap().chars().count(), 100);
    assert_eq!(env.sandbox.pins().len(), 1);
}

#[tokio::test]
async fn page_size_and_bookmarks_are_checked() {
    let env = start(unlimited()).await;
    let board = env.sandbox.create_board(&env.user, "B");
    for bad in ["0", "251", "ten"] {
        let (status, b) = body(
            env.get(&format!("boards?page_size={bad}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "page_size={bad}");
        assert!(b["message"].as_str().unwrap().contains("page_size"));
    }
    // A bookmark from the boards list is refused by the pins list.
    for i in 0..3 {
        env.sandbox.create_board(&env.user, &format!("more {i}"));
    }
    let (_, page) = body(env.get("boards?page_size=2").send().await.unwrap()).await;
    let bookmark = page["bookmark"].as_str().unwrap().to_string();
    let (status, _) = body(
        env.get(&format!("boards/{board}/pins?bookmark={bookmark}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let (status, next) = body(
        env.get(&format!("boards?page_size=2&bookmark={bookmark}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(next["items"].as_array().unwrap().len(), 2);
    assert_eq!(next["bookmark"], Value::Null);
}

#[tokio::test]
async fn boards_and_sections_validate_names() {
    let env = start(unlimited()).await;
    let (status, b) = body(
        env.post("boards")
            .json(&json!({"description": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(b["message"].as_str().unwrap().contains("name is required"));
    let (status, board) = body(
        env.post("boards")
            .json(&json!({"name": "Mine"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(board["privacy"], "PUBLIC");
    let (status, _) = body(
        env.post("boards")
            .json(&json!({"name": "Mine"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 409, "a second board with the same name");

    let id = board["id"].as_str().unwrap();
    let sections = format!("boards/{id}/sections");
    for bad in [
        json!({"name": ""}),
        json!({"name": "s".repeat(181)}),
        json!({}),
    ] {
        let (status, _) = body(env.post(&sections).json(&bad).send().await.unwrap()).await;
        assert_eq!(status, 400, "{bad}");
    }
    let (status, _) = body(
        env.post(&sections)
            .json(&json!({"name": "s".repeat(180)}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    let (status, b) = body(env.get("boards/abc").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(b["message"].as_str().unwrap().contains("board_id"));
    let (status, b) = body(env.get("boards/123").send().await.unwrap()).await;
    assert_eq!((status, b["code"].clone()), (404, json!(40)));
}

#[tokio::test]
async fn deleted_pins_are_gone() {
    let env = start(unlimited()).await;
    let board = env.sandbox.create_board(&env.user, "B");
    let (_, pin) = create_pin(&env, json!({"board_id": board, "media_source": image()})).await;
    let path = format!("pins/{}", pin["id"].as_str().unwrap());
    let resp = env
        .http
        .delete(env.base.join(&path).unwrap())
        .bearer_auth(&env.user.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (status, _) = body(env.get(&path).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert!(env.sandbox.pins().is_empty());
}

#[tokio::test]
async fn the_token_endpoint_checks_client_auth_and_grants() {
    let env = start(unlimited()).await;
    let url = env.token_url();
    let cfg = env.sandbox.config().clone();
    let secret = secrecy::ExposeSecret::expose_secret(&cfg.client_secret).to_string();
    let form = |pairs: &[(&str, &str)]| {
        env.http
            .post(url.clone())
            .basic_auth(&cfg.client_id, Some(&secret))
            .form(pairs)
    };
    let (status, b) = body(
        env.http
            .post(url.clone())
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, b["code"].clone()), (401, json!(2)));
    let (status, _) = body(form(&[("grant_type", "password")]).send().await.unwrap()).await;
    assert_eq!(status, 400);
    let (status, _) = body(
        form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "client_credentials needs a scope");
    let (status, b) = body(
        form(&[
            ("grant_type", "client_credentials"),
            ("scope", "boards:read"),
        ])
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(b["response_type"], "client_credentials");
    // The client token works for the app owner.
    let resp = env
        .http
        .get(env.base.join("user_account").unwrap())
        .bearer_auth(b["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn latency_is_added_to_api_calls() {
    let env = start(unlimited()).await;
    env.sandbox.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    });
    // A lower bound only: the sandbox sleeps at least this long, however slow the machine.
    let started = std::time::Instant::now();
    let (status, _) = body(env.get("user_account").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn run_cli_serves_until_shutdown_and_reports_a_busy_port() {
    let busy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = busy.local_addr().unwrap();
    let err = run_cli(addr, SandboxConfig::default(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    drop(busy);

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_cli(addr, SandboxConfig::default(), shutdown.clone()));
    let url = Sandbox::api_base(addr).join("user_account").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        match reqwest::get(url.clone()).await {
            Ok(r) => break r.status(),
            Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(e) => panic!("sandbox never answered: {e}"),
        }
    };
    assert_eq!(status, 401);
    shutdown.cancel();
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn injected_faults_repeat_with_the_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let env = start(SandboxConfig {
            seed,
            faults: Faults {
                error_rate: 0.5,
                ..Faults::default()
            },
            ..unlimited()
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(
                env.get("user_account")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(
            env.sandbox.stats().injected_5xx as usize,
            out.iter().filter(|s| **s >= 500).count()
        );
        out
    }
    let first = statuses(7).await;
    assert_eq!(first, statuses(7).await);
    assert!(
        first.contains(&200) && first.iter().any(|s| *s == 500 || *s == 503),
        "{first:?}"
    );
}
