//! The generated OpenAPI document says what the admin API really sends: real answers of the
//! real router over a real sled store, checked against the schema the document declares for
//! that operation and status (JSON Schema 2020-12, as OpenAPI 3.1 uses). Objects are checked
//! closed (no field the document does not declare), so a field added to an answer without
//! its type fails here too.

use serde_json::{Value, json};

use crate::support::ops::{ADMIN, Server, start};

/// The schema of `method path` answering `status`, with every component schema made closed.
fn answer_schema(doc: &Value, method: &str, path: &str, status: u16) -> Value {
    let schema =
        doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
            ["schema"]
            .clone();
    assert!(
        schema.is_object(),
        "{method} {path} declares no JSON body for {status}"
    );
    let mut components = doc["components"].clone();
    close(&mut components);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "allOf": [schema],
    })
}

/// `additionalProperties: false` on every object schema that lists its properties.
fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(list) => list.iter_mut().for_each(close),
        _ => {}
    }
}

pub(crate) fn check(doc: &Value, method: &str, path: &str, status: u16, answer: &Value) {
    let schema = answer_schema(doc, method, path, status);
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(answer)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match its schema: {errors:?}\n{answer:#}"
    );
}

async fn answer(server: &Server, method: &str, path: &str) -> (u16, Value) {
    let url = format!("{}/api/v1{path}", server.base);
    let request = match method {
        "get" => server.client.get(url),
        _ => server.client.post(url),
    };
    let answer = request.bearer_auth(ADMIN).send().await.unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

async fn document(server: &Server) -> Value {
    reqwest::get(format!("{}/api/v1/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn real_answers_match_the_documented_schemas() {
    let server = start(&["main"], true).await;
    let dead = server.job_ending("a", Some("board not found"), None).await;
    let done = server.job_ending("b", None, Some("pin-1")).await;
    server
        .store
        .ingest(
            &crate::support::ops::item("blog", "c"),
            crate::support::ops::plan("B"),
            0,
        )
        .await
        .unwrap();
    // Pin analytics, one group without impressions (its rate is null).
    let today = crate::support::analytics::day_of(crate::support::ops::T0);
    let mut rows = crate::support::analytics::sample(today);
    rows.push(crate::support::analytics::pin_day(
        "p9",
        "quiet",
        "r",
        "B",
        &[],
        today,
        [0, 0, 0, 0],
    ));
    server.store.record_pin_days(&rows).await.unwrap();
    let doc = document(&server).await;

    // (method, documented path, concrete path, expected status)
    let calls = [
        ("get", "/sources", "/sources".to_string(), 200),
        ("get", "/items", "/items".to_string(), 200),
        ("get", "/items", "/items?state=dead".to_string(), 200),
        ("get", "/items", "/items?state=bogus".to_string(), 400),
        (
            "get",
            "/items/{source}/{key}",
            "/items/blog/guid:a".to_string(),
            200,
        ),
        (
            "get",
            "/items/{source}/{key}",
            "/items/blog/nope".to_string(),
            404,
        ),
        ("get", "/jobs", "/jobs".to_string(), 200),
        ("get", "/jobs/{id}", format!("/jobs/{done}"), 200),
        ("get", "/jobs/{id}", "/jobs/nope".to_string(), 404),
        ("get", "/dead-letters", "/dead-letters".to_string(), 200),
        ("get", "/stats", "/stats".to_string(), 200),
        ("get", "/analytics", "/analytics".to_string(), 200),
        (
            "get",
            "/analytics",
            "/analytics?by=category&since=4w".to_string(),
            200,
        ),
        ("get", "/analytics", "/analytics?by=pin".to_string(), 400),
        (
            "post",
            "/jobs/{id}/retry",
            format!("/jobs/{done}/retry"),
            409,
        ),
        (
            "post",
            "/jobs/{id}/retry",
            format!("/jobs/{dead}/retry"),
            200,
        ),
        (
            "post",
            "/jobs/{id}/replay",
            format!("/jobs/{done}/replay"),
            200,
        ),
        (
            "post",
            "/dead-letters/retry",
            "/dead-letters/retry".to_string(),
            200,
        ),
        (
            "post",
            "/items/{source}/{key}/forget",
            "/items/blog/guid:c/forget".to_string(),
            200,
        ),
    ];
    for (method, path, concrete, expected) in calls {
        let (status, body) = answer(&server, method, &concrete).await;
        assert_eq!(status, expected, "{method} {concrete}: {body}");
        check(&doc, method, path, status, &body);
    }

    // Without a token: the documented 401 body.
    let refused = reqwest::get(format!("{}/api/v1/jobs", server.base))
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    check(&doc, "get", "/jobs", 401, &refused.json().await.unwrap());
}

/// The check has teeth: answers that differ from the document in a type, a missing field or
/// an undeclared one are refused.
#[tokio::test]
async fn answers_unlike_the_document_are_refused() {
    let server = start(&["main"], true).await;
    let done = server.job_ending("b", None, Some("pin-1")).await;
    let doc = document(&server).await;
    let (_, job) = answer(&server, "get", &format!("/jobs/{done}")).await;
    check(&doc, "get", "/jobs/{id}", 200, &job);

    let schema = answer_schema(&doc, "get", "/jobs/{id}", 200);
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut wrong_type = job.clone();
    wrong_type["attempts"] = json!("one");
    let mut missing = job.clone();
    missing.as_object_mut().unwrap().remove("target");
    let mut undeclared = job.clone();
    undeclared["surprise"] = json!(true);
    let mut bad_state = job.clone();
    bad_state["state"] = json!({"state": "exploded"});
    for wrong in [wrong_type, missing, undeclared, bad_state] {
        assert!(!validator.is_valid(&wrong), "accepted: {wrong}");
    }
}
