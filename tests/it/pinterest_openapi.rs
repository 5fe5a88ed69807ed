//! Agreement with the official description (Pinterest OpenAPI v5.23.0): every request the client
//! sends and every answer the sandbox gives, recorded during a scenario that covers success and
//! failure, is checked against the operation's schemas; the sandbox's limits equal the spec's.

use std::collections::BTreeSet;

use pinbridge::pinterest::model::PinUpdate;
use pinbridge::pinterest::sandbox::{Exchange, FailMode, Faults};
use pinbridge::pinterest::{ApiError, TokenManager};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::support::openapi::{Dir, spec};
use crate::support::pinterest::{pin, start, unlimited};

/// Drive every operation, through the client where it has a method, raw otherwise.
async fn scenario() -> Vec<Exchange> {
    let env = start(unlimited()).await;
    env.sandbox.start_recording();
    let client = env.client().with_page_size(2);

    client.user_account().await.unwrap();
    let board = client
        .create_board("Recipes", Some("Good food"))
        .await
        .unwrap();
    for name in ["Two", "Three"] {
        client.create_board(name, None).await.unwrap();
    }
    client.list_boards().await.unwrap();
    env.get(&format!("boards/{}", board.id))
        .send()
        .await
        .unwrap();
    let section = client.create_section(&board.id, "Salads").await.unwrap();
    client.create_section(&board.id, "Soups").await.unwrap();
    client.create_section(&board.id, "Sides").await.unwrap();
    client.list_sections(&board.id).await.unwrap();

    let mut full = pin(&board.id, "Greek salad");
    full.board_section_id = Some(section.id.clone());
    full.alt_text = Some("A bowl of salad".into());
    let made = client.create_pin(&full).await.unwrap();
    client.create_pin(&pin(&board.id, "Soup")).await.unwrap();
    client.create_pin(&pin(&board.id, "Bread")).await.unwrap();
    client.get_pin(&made.id).await.unwrap();
    // Updates: every text field, then a title over the limit (400) and an unknown Pin (404).
    let update = PinUpdate {
        title: Some("Greek salad, new".into()),
        description: Some("Now with feta".into()),
        link: Some("https://example.com/greek".into()),
        alt_text: Some("A bowl".into()),
    };
    client.update_pin(&made.id, &update).await.unwrap();
    let too_long = PinUpdate {
        title: Some("x".repeat(101)),
        ..PinUpdate::default()
    };
    client.update_pin(&made.id, &too_long).await.unwrap_err();
    client.update_pin("3", &update).await.unwrap_err();
    // An app that may not use the beta update: 403.
    env.sandbox.set_faults(Faults {
        update_unavailable: true,
        ..Faults::default()
    });
    let refused = client.update_pin(&made.id, &update).await.unwrap_err();
    assert!(refused.update_unavailable(), "{refused}");
    env.sandbox.set_faults(Faults::default());
    client.board_pins(&board.id, 10).await.unwrap();
    // Reconcile's paging: one page at a time, newest first, on to the next by bookmark.
    let first = client.board_pins_page(&board.id, None).await.unwrap();
    assert!(first.bookmark.is_some(), "three Pins, two a page");
    client
        .board_pins_page(&board.id, first.bookmark.as_deref())
        .await
        .unwrap();

    // Failures: 400, 404 (board, section, pin), 409, 429, 5xx, 401 + refresh.
    client
        .create_pin(&pin(&board.id, &"x".repeat(101)))
        .await
        .unwrap_err();
    client.create_pin(&pin("1", "nowhere")).await.unwrap_err();
    let mut lost = pin(&board.id, "lost");
    lost.board_section_id = Some("2".into());
    client.create_pin(&lost).await.unwrap_err();
    client.get_pin("3").await.unwrap_err();
    client.create_board("Recipes", None).await.unwrap_err();
    client.create_section(&board.id, "").await.unwrap_err();
    env.get("boards?page_size=251").send().await.unwrap();
    env.get(&format!("boards/{}/pins?page_size=0", board.id))
        .send()
        .await
        .unwrap();
    env.sandbox.set_faults(Faults {
        burst_429: 1,
        ..Faults::default()
    });
    client
        .create_pin(&pin(&board.id, "limited"))
        .await
        .unwrap_err();
    env.sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    client.list_boards().await.unwrap_err();
    env.sandbox.set_faults(Faults {
        create_then_fail_rate: 1.0,
        create_then_fail: FailMode::Status500,
        ..Faults::default()
    });
    client
        .create_pin(&pin(&board.id, "made anyway"))
        .await
        .unwrap_err();
    env.sandbox.set_faults(Faults::default());
    env.sandbox.expire_access_tokens();
    client.user_account().await.unwrap();
    // The old token is refused everywhere now.
    env.get("user_account").send().await.unwrap();
    client.delete_pin(&made.id).await.unwrap();
    let gone = client.delete_pin(&made.id).await.unwrap_err();
    assert!(matches!(gone, ApiError::NotFound { .. }), "{gone}");

    // Token endpoint: code grant, client credentials, a refused refresh.
    let code = env.sandbox.issue_code(&env.user, "http://127.0.0.1:8085/");
    TokenManager::exchange_code(
        &env.token_url(),
        &env.creds(),
        &code,
        "http://127.0.0.1:8085/",
        &env.http,
        &env.clock,
    )
    .await
    .unwrap();
    let secret = env.creds().client_secret.expose_secret().to_string();
    env.http
        .post(env.token_url())
        .basic_auth(&env.creds().client_id, Some(&secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("scope", "boards:read"),
        ])
        .send()
        .await
        .unwrap();
    env.http
        .post(env.token_url())
        .basic_auth(&env.creds().client_id, Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "pinr_bogus"),
        ])
        .send()
        .await
        .unwrap();
    env.sandbox.take_recording()
}

#[tokio::test]
async fn client_requests_and_sandbox_answers_match_the_spec() {
    let spec = spec();
    let exchanges = scenario().await;
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for ex in &exchanges {
        let route = ex.route.as_deref().unwrap_or("?");
        let Some(path) = route.strip_prefix("/v5") else {
            problems.push(format!("{} {}: not an API route", ex.method, ex.uri));
            continue;
        };
        let label = format!("{} {} -> {}", ex.method, ex.uri, ex.status);
        let Some(op) = spec.operation(&ex.method, path) else {
            problems.push(format!("{label}: no such operation in the spec"));
            continue;
        };
        seen.insert((ex.method.clone(), path.to_string(), ex.status));

        // Request violations, judged below together with the answer's status.
        let mut request_errs: Vec<String> = spec
            .validate_params(op, path, &ex.uri)
            .into_iter()
            .map(|e| format!("{label}: request {e}"))
            .collect();
        let ct = ex
            .request_content_type
            .as_deref()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        match (op.get("requestBody"), ex.request_body.is_empty()) {
            (None, true) => {}
            (None, false) => {
                request_errs.push(format!("{label}: body sent to an operation without one"))
            }
            (Some(_), _) => match spec.request_schema(op, ct) {
                None => request_errs.push(format!("{label}: content type {ct:?} not declared")),
                Some(schema) => {
                    let body: Value = if ct == "application/x-www-form-urlencoded" {
                        url::form_urlencoded::parse(&ex.request_body)
                            .into_owned()
                            .map(|(k, v)| (k, Value::String(v)))
                            .collect::<serde_json::Map<_, _>>()
                            .into()
                    } else {
                        serde_json::from_slice(&ex.request_body).unwrap_or(Value::Null)
                    };
                    // Form bodies carry continuous_refresh, which 5.23 does not declare (5.28 does).
                    let strict = ct == "application/json";
                    for e in spec.validate(schema, &body, Dir::Request, strict) {
                        request_errs.push(format!("{label}: request body {e}"));
                    }
                }
            },
        }
        // Both directions: a request the spec forbids gets a 400 from the sandbox, and every
        // other answer (2xx, 401, 404, 429, 5xx, …) follows a request the spec allows. The token
        // endpoint also answers 400 for semantic reasons (an unknown refresh token).
        if ex.status == 400 {
            if request_errs.is_empty() && path != "/oauth/token" {
                problems.push(format!(
                    "{label}: the sandbox refused a request the spec allows"
                ));
            }
        } else {
            problems.extend(request_errs);
        }
        match spec.response_schema(op, ex.status) {
            Err(e) => problems.push(format!("{label}: {e}")),
            Ok(None) => {
                if !ex.response_body.is_empty() {
                    problems.push(format!("{label}: a body where the spec declares none"));
                }
            }
            Ok(Some(schema)) => match serde_json::from_slice::<Value>(&ex.response_body) {
                Err(e) => problems.push(format!("{label}: answer is not JSON: {e}")),
                Ok(body) => {
                    for e in spec.validate(schema, &body, Dir::Response, true) {
                        problems.push(format!("{label}: answer {e}"));
                    }
                }
            },
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagreements:\n{}",
        problems.len(),
        problems.join("\n")
    );

    // The scenario really covered every operation the client and sandbox implement.
    let ops: BTreeSet<(String, String)> = seen
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    for (m, p) in [
        ("GET", "/user_account"),
        ("GET", "/boards"),
        ("POST", "/boards"),
        ("GET", "/boards/{board_id}"),
        ("GET", "/boards/{board_id}/sections"),
        ("POST", "/boards/{board_id}/sections"),
        ("GET", "/boards/{board_id}/pins"),
        ("POST", "/pins"),
        ("GET", "/pins/{pin_id}"),
        ("PATCH", "/pins/{pin_id}"),
        ("DELETE", "/pins/{pin_id}"),
        ("POST", "/oauth/token"),
    ] {
        assert!(
            ops.contains(&(m.to_string(), p.to_string())),
            "{m} {p} not exercised"
        );
    }
    let statuses: BTreeSet<u16> = seen.iter().map(|(_, _, s)| *s).collect();
    for s in [200, 201, 204, 400, 401, 403, 404, 409, 429, 500] {
        assert!(
            statuses.contains(&s),
            "no {s} answer was checked; seen {statuses:?}"
        );
    }
}
