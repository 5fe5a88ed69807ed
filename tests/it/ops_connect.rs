//! "Connect Pinterest account" without a browser: the service runs the OAuth code flow against
//! the sandbox; the tokens land sealed in the store and in the running token manager; a
//! `state` works once, only in the browser that started it, only for ten minutes; a denial
//! says so; the callback may reach another replica (PostgreSQL), whose peers then take the
//! stored tokens; without `server.public_url`
//! connecting says what to set.

use std::sync::Arc;

use pinbridge::store::Store;
use pinbridge::store::sled::{SledOptions, SledStore};
use secrecy::ExposeSecret;

use crate::support::connect::{Browser, Server, serve, serve_behind, vault};
use crate::support::ops::ADMIN;
use crate::support::pinterest::{Env, start, unlimited};
use crate::support::replicas::postgres_schema;

fn sled(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    Arc::new(SledStore::open(&dir.path().join("db"), SledOptions::default(), None).unwrap())
}

/// `main` holds working tokens, sealed; `left` flows (others' attempts) are still pending.
async fn connected(server: &Server, env: &Env, left: usize) {
    let record = server.state.store.account_state("main").await.unwrap();
    let blob = record.tokens.expect("tokens stored");
    let (tokens, origin) = vault().open("main", &blob).unwrap();
    assert!(
        !origin.is_empty(),
        "sealed with the configured tokens' origin"
    );
    let access = tokens.access_token.expose_secret().to_string();
    assert!(
        !String::from_utf8_lossy(&blob).contains(&access),
        "sealed, not plain"
    );
    assert_eq!(record.connects.len(), left, "the used flow is gone");
    // The running token manager uses the new tokens at once: they work.
    let live = server.tokens.tokens().await;
    assert_eq!(live.access_token.expose_secret(), access);
    let client = env.client_with(env.manager(tokens));
    assert_eq!(
        client.user_account().await.unwrap().username.as_deref(),
        Some("alice")
    );
}

#[tokio::test]
async fn connecting_stores_sealed_tokens_and_a_state_works_once() {
    let env = start(unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(sled(&dir), &env, true).await;
    let mut browser = Browser::new();
    browser.sign_in(&server).await;
    let authorize = browser.click_connect(&server).await;
    let query: std::collections::HashMap<_, _> = url::Url::parse(&authorize)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(
        query["redirect_uri"],
        format!("{}/oauth/callback", server.base)
    );
    assert_eq!(query["scope"], "user_accounts:read,boards:read,pins:write");
    assert_eq!(query["state"].len(), 64);
    assert!(browser.cookies.contains_key("pinbridge_connect"));

    let callback = browser.decide(&authorize, "allow").await;
    let code = url::Url::parse(&callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=connected"), "{}", page.body);
    assert!(page.body.contains("main is connected"), "{}", page.body);
    assert!(!page.body.contains(&code), "the page never shows the code");
    assert!(!page.body.contains("sandbox-client-secret"));
    connected(&server, &env, 0).await;
    assert_eq!(env.sandbox.stats().code_grants, 1);

    // The same callback again: refused, and Pinterest is not asked again.
    let again = browser.get(&callback).await;
    assert_eq!(again.status, 400);
    assert!(
        again.body.contains("unknown or was already used"),
        "{}",
        again.body
    );
    assert_eq!(env.sandbox.stats().code_grants, 1);
}

#[tokio::test]
async fn another_browser_cannot_finish_and_the_right_one_still_can() {
    let env = start(unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(sled(&dir), &env, true).await;
    let mut admin = Browser::new();
    admin.sign_in(&server).await;
    let callback = {
        let authorize = admin.click_connect(&server).await;
        admin.decide(&authorize, "allow").await
    };
    // A browser without the cookie, and one signed in with its own session and its own flow.
    let mut stranger = Browser::new();
    let refused = stranger.get(&callback).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("another browser"), "{}", refused.body);
    let mut other = Browser::new();
    other.sign_in(&server).await;
    other.click_connect(&server).await;
    assert_eq!(other.get(&callback).await.status, 403);
    assert_eq!(env.sandbox.stats().code_grants, 0, "no code was exchanged");
    // Refusals do not use the flow up: its own browser still finishes it.
    let page = admin.get(&callback).await;
    assert_eq!(page.status, 200, "{}", page.body);
    connected(&server, &env, 1).await;
}

#[tokio::test]
async fn an_expired_flow_is_refused() {
    let env = start(unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(sled(&dir), &env, true).await;
    let mut browser = Browser::new();
    browser.sign_in(&server).await;
    let authorize = browser.click_connect(&server).await;
    let callback = browser.decide(&authorize, "allow").await;
    server.clock.advance_ms(10 * 60 * 1000 + 1);
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("expired"), "{}", page.body);
    let record = server.state.store.account_state("main").await.unwrap();
    assert!(record.tokens.is_none());
    assert_eq!(env.sandbox.stats().code_grants, 0);
}

#[tokio::test]
async fn a_denial_is_shown_and_changes_nothing() {
    let env = start(unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(sled(&dir), &env, true).await;
    let mut browser = Browser::new();
    browser.sign_in(&server).await;
    let authorize = browser.click_connect(&server).await;
    let callback = browser.decide(&authorize, "deny").await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("access was denied on Pinterest"),
        "{}",
        page.body
    );
    assert!(page.body.contains("nothing changed"), "{}", page.body);
    let record = server.state.store.account_state("main").await.unwrap();
    assert!(record.tokens.is_none());
    assert!(record.connects.is_empty(), "the flow is used up");
}

#[tokio::test]
async fn without_public_url_connecting_says_what_to_set() {
    let env = start(unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(sled(&dir), &env, false).await;
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/api/v1/accounts/main/connect", server.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("set server.public_url"),
        "{body}"
    );
    let mut browser = Browser::new();
    browser.sign_in(&server).await;
    let answer = browser
        .post(&server, "/ui/accounts/main/connect", &[])
        .await;
    assert_eq!(answer.status, 409);
    assert!(answer.body.contains("server.public_url"), "{}", answer.body);
}

#[tokio::test]
async fn the_admin_api_starts_a_flow_and_refuses_strangers() {
    let env = start(unlimited()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = serve(sled(&dir), &env, true).await;
    let http = reqwest::Client::new();
    let url = |account: &str| format!("{}/api/v1/accounts/{account}/connect", server.base);
    assert_eq!(http.post(url("main")).send().await.unwrap().status(), 401);
    let unknown = http
        .post(url("nope"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // A signed-in browser's POST from another site is refused, on both paths.
    let mut browser = Browser::new();
    browser.sign_in(&server).await;
    let session = format!("pinbridge_session={}", browser.cookies["pinbridge_session"]);
    for path in ["/ui/accounts/main/connect", "/api/v1/accounts/main/connect"] {
        let cross = http
            .post(format!("{}{path}", server.base))
            .header("cookie", &session)
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(cross.status(), 403, "{path}");
    }
    let started: serde_json::Value = http
        .post(url("main"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let authorize = started["authorize_url"].as_str().unwrap();
    assert!(started["expires_at"].as_i64().is_some());
    // Started with the admin token there is no browser to bind: the state alone finishes it.
    let mut any = Browser::new();
    let callback = any.decide(authorize, "allow").await;
    let page = any.get(&callback).await;
    assert_eq!(page.status, 200, "{}", page.body);
    connected(&server, &env, 0).await;
}

#[tokio::test]
async fn the_callback_may_reach_another_replica() {
    let Some((pool, _, _)) = postgres_schema().await else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(
        pinbridge::store::postgres::PgStore::with_pool(pool)
            .await
            .unwrap(),
    );
    let env = start(unlimited()).await;
    let first = serve(store.clone(), &env, true).await;
    let public = first.state.public_url.as_ref().unwrap().to_string();
    let second = serve_behind(store, &env, Some(Some(public))).await;
    let mut browser = Browser::new();
    browser.sign_in(&first).await;
    let authorize = browser.click_connect(&first).await;
    let callback = browser.decide(&authorize, "allow").await;
    // Behind one public URL either replica may get the callback: send it to the other one.
    let path = url::Url::parse(&callback).unwrap();
    let elsewhere = format!("{}{}?{}", second.base, path.path(), path.query().unwrap());
    let page = browser.get(&elsewhere).await;
    assert_eq!(page.status, 200, "{}", page.body);
    connected(&second, &env, 0).await;
    // The first replica sees the flow used too.
    assert_eq!(browser.get(&callback).await.status, 400);
    // And takes the new tokens from the store (as when the account's hold is cleared).
    assert!(first.tokens.adopt_stored().await.unwrap());
    connected(&first, &env, 0).await;
    assert!(!first.tokens.adopt_stored().await.unwrap(), "nothing newer");
}
