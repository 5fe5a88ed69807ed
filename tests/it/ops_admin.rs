//! The admin API and health endpoints over HTTP, on the real sled store.

use std::collections::BTreeSet;

use pinbridge::store::AccountState;
use serde_json::Value;

use crate::support::ops::{ADMIN, T0, start};

/// Readiness means "can take webhooks". An account that needs attention is reported in the
/// body but keeps the pod ready: an unready pod is taken out of its Service and every webhook
/// would bounce, although pinbridge could still store them until the account is repaired.
#[tokio::test]
async fn readyz_reports_account_problems_but_stays_ready() {
    // A name of its own: the metrics recorder is shared by every test in this process.
    let server = start(&["needs-attention"], true).await;
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["accounts"][0]["name"], "needs-attention");
    assert_eq!(body["attention"], serde_json::json!([]));

    server
        .store
        .set_account_state(
            "needs-attention",
            &AccountState {
                problem: Some("needs `pinbridge auth --account needs-attention`".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200, "an account problem is not unreadiness");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["reasons"], serde_json::json!([]));
    assert!(
        body["attention"][0]
            .as_str()
            .unwrap()
            .contains("no usable Pinterest account")
    );
    assert_eq!(body["accounts"][0]["usable"], false);
    assert!(
        body["accounts"][0]["problem"]
            .as_str()
            .unwrap()
            .contains("pinbridge auth")
    );
    // The operator still sees it: on the status page and as a metric.
    let page = server.get("/").await.text().await.unwrap();
    assert!(
        page.contains("pinbridge auth --account needs-attention"),
        "{page}"
    );
    let metrics = server.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("pinbridge_account_usable{account=\"needs-attention\"} 0"),
        "{metrics}"
    );

    // Draining is what makes it unready: no new webhooks should be routed here.
    server
        .store
        .set_account_state("needs-attention", &AccountState::default())
        .await
        .unwrap();
    server.state.draining.cancel();
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["reasons"], serde_json::json!(["draining"]));
}

#[tokio::test]
async fn readyz_with_no_account_configured_is_ready_and_says_so() {
    let server = start(&[], true).await;
    let ready = server.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["attention"][0]
            .as_str()
            .unwrap()
            .contains("no usable Pinterest account")
    );
}

#[tokio::test]
async fn a_wrong_or_missing_token_gets_401_without_a_hint() {
    let server = start(&["main"], true).await;
    for auth in [
        None,
        Some("Bearer nope"),
        Some(&format!("Bearer {ADMIN}x")[..]),
        Some(ADMIN),
    ] {
        let mut request = server.client.get(format!("{}/api/v1/jobs", server.base));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 401, "{auth:?}");
        let text = answer.text().await.unwrap();
        assert!(
            !text.contains(ADMIN) && !text.contains("admin-token"),
            "{text}"
        );
    }
    assert_eq!(server.get("/api/v1/jobs").await.status(), 200);
    // The token itself in a cookie is not a session: the status page never sets it.
    let answer = server
        .client
        .get(format!("{}/api/v1/jobs", server.base))
        .header("cookie", format!("theme=dark; pinbridge_admin={ADMIN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
}

#[tokio::test]
async fn without_a_configured_token_the_api_is_off() {
    let server = start(&["main"], false).await;
    let answer = server.get("/api/v1/jobs").await;
    assert_eq!(answer.status(), 403);
    assert!(answer.text().await.unwrap().contains("server.admin_token"));
}

#[tokio::test]
async fn items_jobs_and_dead_letters_are_listed_and_filtered() {
    let server = start(&["main"], true).await;
    let dead = server.job_ending("a", Some("board not found"), None).await;
    let done = server.job_ending("b", None, Some("pin-42")).await;

    let body: Value = server
        .get("/api/v1/dead-letters")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [dead.as_str()]);
    assert_eq!(body["jobs"][0]["state"]["error"], "board not found");

    let body: Value = server
        .get("/api/v1/items?state=done")
        .await
        .json()
        .await
        .unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["key"], "guid:b");
    assert_eq!(items[0]["jobs"][0]["state"]["pin_id"], "pin-42");

    let body: Value = server
        .get("/api/v1/items?source=other")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["items"], serde_json::json!([]));
    let body: Value = server
        .get("/api/v1/jobs?state=done")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["jobs"][0]["id"], done.as_str());

    let bad = server.get("/api/v1/jobs?state=finished").await;
    assert_eq!(bad.status(), 400);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("unknown state `finished`")
    );

    let one = server.get("/api/v1/items/blog/guid:a").await;
    assert_eq!(one.status(), 200);
    let body: Value = one.json().await.unwrap();
    assert_eq!(body["title"], "Title a");

    let body: Value = server.get("/api/v1/sources").await.json().await.unwrap();
    assert_eq!(body["sources"][0]["id"], "blog");
    assert_eq!(body["sources"][0]["state"], "ok");
}

#[tokio::test]
async fn unknown_items_and_jobs_are_404() {
    let server = start(&["main"], true).await;
    for path in ["/api/v1/items/blog/guid:nothing", "/api/v1/jobs/0000-none"] {
        let answer = server.get(path).await;
        assert_eq!(answer.status(), 404, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("nothing")
                || body["error"].as_str().unwrap().contains("0000-none")
        );
    }
    assert_eq!(
        server.post("/api/v1/jobs/0000-none/retry").await.status(),
        404
    );
    assert_eq!(
        server.post("/api/v1/jobs/0000-none/replay").await.status(),
        404
    );
    assert_eq!(
        server
            .post("/api/v1/items/blog/guid:nothing/forget")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn retry_brings_a_dead_job_back_and_refuses_others() {
    let server = start(&["main"], true).await;
    let dead = server.job_ending("a", Some("boom"), None).await;
    let done = server.job_ending("b", None, Some("pin-1")).await;

    let answer = server.post(&format!("/api/v1/jobs/{done}/retry")).await;
    assert_eq!(answer.status(), 409);
    let answer = server.post(&format!("/api/v1/jobs/{dead}/retry")).await;
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["state"]["state"], "pending");
    assert_eq!(body["attempts"], 0);
    let body: Value = server
        .get("/api/v1/dead-letters")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["jobs"], serde_json::json!([]));
}

#[tokio::test]
async fn retry_all_dead_revives_every_dead_letter() {
    let server = start(&["main"], true).await;
    server.job_ending("a", Some("x"), None).await;
    server.job_ending("b", Some("y"), None).await;
    let body: Value = server
        .post("/api/v1/dead-letters/retry")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["retried"], 2);
    let body: Value = server
        .get("/api/v1/jobs?state=pending")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["jobs"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn replay_queues_a_new_job_for_a_done_one_and_keeps_the_old() {
    let server = start(&["main"], true).await;
    let done = server.job_ending("b", None, Some("pin-7")).await;
    let answer = server.post(&format!("/api/v1/jobs/{done}/replay")).await;
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    let new = body["job"]["id"].as_str().unwrap().to_string();
    assert_ne!(new, done);
    assert_eq!(body["job"]["state"]["state"], "pending");
    assert_eq!(body["job"]["target"]["board"], "Board");

    let body: Value = server
        .get("/api/v1/items/blog/guid:b")
        .await
        .json()
        .await
        .unwrap();
    let states: BTreeSet<&str> = body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["state"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, BTreeSet::from(["done", "pending"]));
    // A second replay while the new job is open is refused.
    let again = server.post(&format!("/api/v1/jobs/{done}/replay")).await;
    assert_eq!(again.status(), 409);
}

#[tokio::test]
async fn replaying_a_pin_delete_is_refused_and_pins_nothing() {
    // A product pinned, then deleted at its source with `on_delete = "delete"`: the done
    // delete job must not be replayable into a new Pin of the removed product.
    let server = start(&["main"], true).await;
    let create = server.job_ending("gone", None, Some("pin-9")).await;
    let created = server
        .store
        .job(&pinbridge::store::JobId(create.clone()))
        .await
        .unwrap()
        .unwrap();
    let routes = vec![created.target.route.clone()];
    let removed = server
        .store
        .source_removed(&created.source, &created.item, &routes, T0 + 1)
        .await
        .unwrap();
    assert_eq!(removed.deletes, 1);
    let lease = server
        .store
        .claim(1, 60_000, T0 + 2)
        .await
        .unwrap()
        .remove(0);
    assert!(!lease.job.kind.is_create(), "the delete is the due job");
    server
        .store
        .complete(&lease, "pin-9", T0 + 3)
        .await
        .unwrap();

    let answer = server
        .post(&format!("/api/v1/jobs/{}/replay", lease.job.id.0))
        .await;
    assert_eq!(answer.status(), 409);
    let body: Value = answer.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("only creates can be replayed"),
        "{body}"
    );
    let pending = server
        .store
        .jobs(pinbridge::store::JobFilter {
            state: Some("pending".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(pending.is_empty(), "nothing queued: {pending:?}");
}

#[tokio::test]
async fn the_openapi_description_lists_exactly_the_routes_served() {
    let server = start(&["main"], true).await;
    let answer = reqwest::get(format!("{}/api/v1/openapi.json", server.base))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let doc: Value = answer.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(doc["servers"][0]["url"], "/api/v1");

    let mut described = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}"
            );
            // Every $ref points into components.
            for response in op["responses"].as_object().unwrap().values() {
                if let Some(reference) = response["$ref"].as_str() {
                    let name = reference.trim_start_matches("#/components/responses/");
                    assert!(
                        doc["components"]["responses"][name].is_object(),
                        "{reference}"
                    );
                }
            }
            described.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = pinbridge::http::admin::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(described, served);

    // And each served route is really routed (not the API's "no such route" fallback).
    for (method, path) in &served {
        let concrete = path
            .replace("{source}", "blog")
            .replace("{key}", "k")
            .replace("{id}", "j");
        let url = format!("{}/api/v1{concrete}", server.base);
        let request = match method.as_str() {
            "GET" => server.client.get(url),
            _ => server.client.post(url),
        };
        let answer = request.bearer_auth(ADMIN).send().await.unwrap();
        let text = answer.text().await.unwrap();
        assert!(!text.contains("no such API route"), "{method} {path}");
    }
    let missing = server.get("/api/v1/nothing-here").await;
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("no such API route"));
}
