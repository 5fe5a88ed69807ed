//! `PATCH /v5/pins/{id}` on the sandbox as a raw HTTP API: a field present replaces the
//! Pin's, `null` clears it, an absent one is kept; PinUpdate's limits are checked; another
//! user's or an unknown Pin is 404; the beta switch answers 403 before anything changes.

use pinbridge::pinterest::sandbox::{Faults, UPDATE_UNAVAILABLE_MESSAGE};
use serde_json::{Value, json};

use crate::support::pinterest::{Env, start, unlimited};

async fn patch(env: &Env, token: &str, pin_id: &str, update: Value) -> (u16, Value) {
    let resp = env
        .http
        .patch(env.base.join(&format!("pins/{pin_id}")).unwrap())
        .bearer_auth(token)
        .json(&update)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn made_pin(env: &Env) -> String {
    let board = env.sandbox.create_board(&env.user, "B");
    let pin = json!({
        "board_id": board,
        "title": "Old title",
        "description": "Old description",
        "alt_text": "Old alt",
        "link": "https://shop.example/old",
        "media_source": {"source_type": "image_url", "url": "https://img.example/a.jpg"},
    });
    let created: Value = env
        .post("pins")
        .json(&pin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_update_replaces_present_fields_clears_nulls_and_keeps_the_rest() {
    let env = start(unlimited()).await;
    let id = made_pin(&env).await;
    let token = env.user.access_token.clone();
    let (status, answer) = patch(
        &env,
        &token,
        &id,
        json!({"title": "New title", "alt_text": null, "link": "https://shop.example/new"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["id"], id.as_str(), "the same Pin");
    let pin = &env.sandbox.pins()[0];
    assert_eq!(pin.title.as_deref(), Some("New title"));
    assert_eq!(pin.link.as_deref(), Some("https://shop.example/new"));
    assert_eq!(pin.alt_text, None, "null clears");
    assert_eq!(
        pin.description.as_deref(),
        Some("Old description"),
        "absent is kept"
    );
    assert_eq!(env.sandbox.stats().pins_updated, 1);
}

#[tokio::test]
async fn an_update_is_checked_like_the_api() {
    let env = start(unlimited()).await;
    let id = made_pin(&env).await;
    let token = env.user.access_token.clone();
    for (update, words) in [
        (json!({"title": "x".repeat(101)}), "title is 101 characters"),
        (
            json!({"description": "x".repeat(801)}),
            "description is 801 characters",
        ),
        (
            json!({"alt_text": "x".repeat(501)}),
            "alt_text is 501 characters",
        ),
        (
            json!({"link": "ftp://x.example/"}),
            "not a valid http(s) URL",
        ),
        (
            json!({"board_id": "12a"}),
            "board_id must be a string of digits",
        ),
        (json!({"carousel_slots": []}), "carousel_slots"),
    ] {
        let (status, answer) = patch(&env, &token, &id, update.clone()).await;
        assert_eq!(status, 400, "{update}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(words), "{update}: {message}");
    }
    assert_eq!(env.sandbox.pins()[0].title.as_deref(), Some("Old title"));

    let (status, _) = patch(&env, &token, "999999", json!({"title": "t"})).await;
    assert_eq!(status, 404, "unknown Pin");
    let stranger = env.sandbox.create_user("stranger");
    let (status, _) = patch(&env, &stranger.access_token, &id, json!({"title": "t"})).await;
    assert_eq!(status, 404, "another user's Pin");
}

#[tokio::test]
async fn an_app_refused_the_beta_update_gets_403_and_nothing_changes() {
    let env = start(unlimited()).await;
    let id = made_pin(&env).await;
    env.sandbox.set_faults(Faults {
        update_unavailable: true,
        ..Faults::default()
    });
    let token = env.user.access_token.clone();
    let (status, answer) = patch(&env, &token, &id, json!({"title": "New"})).await;
    assert_eq!(status, 403);
    assert_eq!(answer["message"], UPDATE_UNAVAILABLE_MESSAGE);
    assert_eq!(env.sandbox.pins()[0].title.as_deref(), Some("Old title"));
}
