//! Boards made on demand (`create_missing`) when another replica makes the same board between
//! our list and our create: the 409 ("already have a board named …") is not a failure, the
//! board made elsewhere is used, and the account has one board of that name.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use pinbridge::pinterest::PinterestClient;
use pinbridge::pinterest::sandbox::SandboxConfig;
use pinbridge::sync::boards::BoardDirectory;
use url::Url;

use crate::support::pinterest::{start, user_tokens};

#[derive(Clone)]
struct Proxy {
    upstream: Url,
    http: reqwest::Client,
    token: String,
    /// Still to do: make the board "elsewhere" right after the first board list.
    race: Arc<AtomicBool>,
}

/// Forwards to the sandbox; after the first `GET …/boards` has been answered upstream, creates
/// the board through the API (as another replica would) and returns the now stale list.
async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().trim_start_matches('/').to_string())
        .unwrap_or_default();
    let url = proxy.upstream.join(path.trim_start_matches("v5/")).unwrap();
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap();
    let answer = proxy
        .http
        .request(method.clone(), url.clone())
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let bytes = answer.bytes().await.unwrap();
    if method == axum::http::Method::GET
        && url.path().ends_with("/boards")
        && proxy.race.swap(false, Ordering::SeqCst)
    {
        let made = proxy
            .http
            .post(proxy.upstream.join("boards").unwrap())
            .bearer_auth(&proxy.token)
            .json(&serde_json::json!({ "name": "Shared Board" }))
            .send()
            .await
            .unwrap();
        assert!(
            made.status().is_success(),
            "the other replica made the board"
        );
    }
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(bytes))
        .unwrap()
}

#[tokio::test]
async fn a_board_made_elsewhere_between_list_and_create_is_used_not_failed() {
    let env = start(SandboxConfig::default()).await;
    let proxy = Proxy {
        upstream: env.base.clone(),
        http: reqwest::Client::new(),
        token: env.user.access_token.clone(),
        race: Arc::new(AtomicBool::new(true)),
    };
    let race = proxy.race.clone();
    let router = axum::Router::new().fallback(forward).with_state(proxy);
    let addr = crate::support::feed_server::serve(router).await;
    let through_proxy = Url::parse(&format!("http://{addr}/v5/")).unwrap();
    let client = PinterestClient::new(
        &through_proxy,
        env.http.clone(),
        Arc::new(env.manager(user_tokens(&env.user))),
    );

    let directory = BoardDirectory::default();
    let id = directory
        .board_id(&client, "Shared Board", true)
        .await
        .expect("the board made elsewhere is used");
    assert!(!race.load(Ordering::SeqCst), "the race happened");

    let boards = env.client().list_boards().await.unwrap();
    let named: Vec<_> = boards.iter().filter(|b| b.name == "Shared Board").collect();
    assert_eq!(named.len(), 1, "one board of that name");
    assert_eq!(named[0].id, id, "and it is the one the job will pin to");
}
