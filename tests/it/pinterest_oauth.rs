//! Token handling against the sandbox's token endpoint: refresh after 401 (once, single flight),
//! refresh ahead of expiry, refresh failures, rotation, and the authorization-code flow.

use std::sync::{Arc, Mutex};

use pinbridge::pinterest::oauth::{AuthError, authorize_url};
use pinbridge::pinterest::sandbox::SandboxConfig;
use pinbridge::pinterest::{ApiError, Credentials, TokenManager, Tokens};
use secrecy::{ExposeSecret, SecretString};

use crate::support::pinterest::{T0, start, unlimited, user_tokens};

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_repeated() {
    let env = start(unlimited()).await;
    let saved: Arc<Mutex<Vec<Tokens>>> = Arc::default();
    let hook = saved.clone();
    let client = env.client_with(
        env.manager(user_tokens(&env.user))
            .on_refresh(move |t| hook.lock().unwrap().push(t.clone())),
    );
    env.sandbox.expire_access_tokens();

    let account = client.user_account().await.unwrap();
    assert_eq!(account.username.as_deref(), Some("alice"));
    let stats = env.sandbox.stats();
    assert_eq!(stats.refresh_grants, 1);
    assert_eq!(stats.unauthorized, 1);

    let saved = saved.lock().unwrap().clone();
    assert_eq!(saved.len(), 1, "the persist hook runs once per refresh");
    let new = &saved[0];
    assert_ne!(new.access_token.expose_secret(), env.user.access_token);
    // 30-day access token from the sandbox, measured on the manual clock.
    assert_eq!(new.access_expires_at, Some(T0 + 30 * 24 * 3600 * 1000));
    assert!(new.refresh_token.is_some() && new.refresh_expires_at.is_some());
    assert_eq!(
        client.tokens().tokens().await.access_token.expose_secret(),
        new.access_token.expose_secret()
    );
}

#[tokio::test]
async fn concurrent_401s_share_one_refresh() {
    let env = start(unlimited()).await;
    let client = env.client();
    env.sandbox.expire_access_tokens();
    let calls = (0..8).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.list_boards().await })
    });
    for r in futures::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(env.sandbox.stats().refresh_grants, 1);
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_the_call() {
    let env = start(unlimited()).await;
    let mut tokens = user_tokens(&env.user);
    tokens.access_expires_at = Some(T0 + 60_000);
    let client = env.client_with(env.manager(tokens));
    client.user_account().await.unwrap();
    let stats = env.sandbox.stats();
    assert_eq!(stats.refresh_grants, 1);
    assert_eq!(
        stats.unauthorized, 0,
        "no request went out with the old token"
    );
    // Far from expiry: no second refresh.
    client.user_account().await.unwrap();
    assert_eq!(env.sandbox.stats().refresh_grants, 1);
}

#[tokio::test]
async fn a_refused_refresh_is_an_auth_error() {
    let env = start(unlimited()).await;
    let mut tokens = user_tokens(&env.user);
    tokens.refresh_token = Some(SecretString::from("pinr_not-a-real-token"));
    let client = env.client_with(env.manager(tokens));
    env.sandbox.expire_access_tokens();
    let err = client.user_account().await.unwrap_err();
    match &err {
        ApiError::Auth(AuthError::Rejected {
            status: 400,
            message,
            ..
        }) => assert!(message.contains("Invalid refresh token"), "{message}"),
        other => panic!("expected Auth(Rejected), got {other:?}"),
    }
    assert!(!err.is_transient());
    assert!(!err.to_string().contains("pinr_"), "no token in: {err}");
}

#[tokio::test]
async fn wrong_client_credentials_are_an_auth_error() {
    let env = start(unlimited()).await;
    let manager = TokenManager::new(
        env.token_url(),
        Some(Credentials {
            client_id: env.sandbox.config().client_id.clone(),
            client_secret: SecretString::from("wrong"),
        }),
        user_tokens(&env.user),
        env.http.clone(),
        Arc::new(env.clock.clone()),
    );
    let client = env.client_with(manager);
    env.sandbox.expire_access_tokens();
    let err = client.user_account().await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Auth(AuthError::Rejected {
                status: 401,
                code: Some(2),
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(env.sandbox.stats().refresh_grants, 0);
}

#[tokio::test]
async fn without_a_refresh_token_an_expired_token_is_an_auth_error() {
    let env = start(unlimited()).await;
    let tokens = Tokens::access_only(env.user.access_token.clone());
    let client = env.client_with(env.manager(tokens));
    client.user_account().await.unwrap();
    env.sandbox.expire_access_tokens();
    let err = client.user_account().await.unwrap_err();
    assert!(
        matches!(err, ApiError::Auth(AuthError::Expired { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("pinbridge auth"), "{err}");
}

#[tokio::test]
async fn continuous_refresh_rotates_the_refresh_token() {
    let env = start(unlimited()).await;
    let manager = env.manager(user_tokens(&env.user));
    let first = manager.tokens().await.access_token;
    manager.refresh(&first).await.unwrap();
    let rotated = manager.tokens().await.refresh_token.unwrap();
    assert_ne!(rotated.expose_secret(), env.user.refresh_token);

    // The retired refresh token no longer works.
    let old = env.manager(user_tokens(&env.user));
    let stale = old.tokens().await.access_token;
    assert!(matches!(
        old.refresh(&stale).await,
        Err(AuthError::Rejected { .. })
    ));
}

#[tokio::test]
async fn a_kept_refresh_token_is_kept() {
    let env = start(SandboxConfig {
        rotate_refresh_tokens: false,
        ..unlimited()
    })
    .await;
    let manager = env.manager(user_tokens(&env.user));
    let stale = manager.tokens().await.access_token;
    let fresh = manager.refresh(&stale).await.unwrap();
    assert_ne!(fresh.expose_secret(), stale.expose_secret());
    let t = manager.tokens().await;
    assert_eq!(
        t.refresh_token.unwrap().expose_secret(),
        env.user.refresh_token
    );
    // Refreshing with a token that was already replaced does not refresh again.
    manager.refresh(&stale).await.unwrap();
    assert_eq!(env.sandbox.stats().refresh_grants, 1);
}

#[tokio::test]
async fn the_code_flow_yields_working_tokens() {
    let env = start(unlimited()).await;
    let redirect = "http://127.0.0.1:8085/callback";
    let authorize_base = env.base.join("/oauth/").unwrap();
    let url = authorize_url(
        &authorize_base,
        &env.sandbox.config().client_id,
        redirect,
        &["boards:read", "pins:write"],
        "st4te",
    );
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The consent page names the scopes; "Allow" posts the decision back.
    let consent = no_redirects.get(url.clone()).send().await.unwrap();
    assert_eq!(consent.status(), 200);
    let html = consent.text().await.unwrap();
    assert!(
        html.contains("boards:read") && html.contains("id=allow"),
        "{html}"
    );
    let mut form: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    form.push(("decision".into(), "allow".into()));
    let resp = no_redirects
        .post(authorize_base.clone())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(redirect));
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "st4te");

    let clock = env.clock.clone();
    let tokens = TokenManager::exchange_code(
        &env.token_url(),
        &env.creds(),
        &q["code"],
        redirect,
        &env.http,
        &clock,
    )
    .await
    .unwrap();
    assert_eq!(tokens.scope.as_deref(), Some("boards:read,pins:write"));
    let client = env.client_with(env.manager(tokens));
    assert_eq!(
        client.user_account().await.unwrap().username.as_deref(),
        Some("alice")
    );
    assert_eq!(env.sandbox.stats().code_grants, 1);

    // A code works once.
    let again = TokenManager::exchange_code(
        &env.token_url(),
        &env.creds(),
        &q["code"],
        redirect,
        &env.http,
        &clock,
    )
    .await;
    assert!(matches!(
        again,
        Err(AuthError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn a_401_after_a_refresh_is_unauthorized_without_looping() {
    // Every token the sandbox issues is born expired.
    let env = start(SandboxConfig {
        access_token_ttl: std::time::Duration::ZERO,
        ..unlimited()
    })
    .await;
    let err = env.client().user_account().await.unwrap_err();
    match &err {
        ApiError::Unauthorized {
            message,
            request_id,
        } => {
            assert_eq!(message, "Authentication failed.");
            assert!(request_id.is_some());
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let stats = env.sandbox.stats();
    assert_eq!(stats.refresh_grants, 1, "one refresh after the first 401");
    assert_eq!(
        stats.unauthorized, 2,
        "the request was repeated exactly once"
    );
}
