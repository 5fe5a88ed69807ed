//! Replicas sharing one store refresh an account's tokens in turns. Pinterest's continuous
//! refresh retires the refresh token each refresh used, so replicas refreshing on their own
//! would leave all but the first holding a dead token (the control at the end shows it).

use std::sync::Arc;

use base64::Engine;
use pinbridge::config::AccountConfig;
use pinbridge::pinterest::sandbox::SandboxConfig;
use pinbridge::pinterest::vault::Vault;
use pinbridge::sync::tokens::StoreTokens;
use secrecy::SecretString;

use crate::store_conformance::open_postgres;
use crate::support::pinterest::{start, user_tokens};

#[tokio::test(flavor = "multi_thread")]
async fn replicas_refresh_in_turns_and_share_the_new_tokens() {
    let env = start(SandboxConfig::default()).await;
    assert!(env.sandbox.config().rotate_refresh_tokens);
    let backend = open_postgres().await;
    let key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
    let vault = Arc::new(
        Vault::from_env(&|name| (name == "PINBRIDGE_TOKEN_KEYS").then(|| key.clone()))
            .expect("a valid key")
            .expect("a vault"),
    );
    let account = AccountConfig {
        name: "main".into(),
        access_token: Some(SecretString::from(env.user.access_token.clone())),
        refresh_token: Some(SecretString::from(env.user.refresh_token.clone())),
        writes_per_minute: 100,
        daily_cap: 200,
    };
    // Three replicas, each starting from the configured tokens, as after a deploy.
    let replicas: Vec<_> = (0..3)
        .map(|_| {
            let shared = StoreTokens::new(
                backend.store.clone(),
                vault.clone(),
                &account,
                Arc::new(env.clock.clone()),
            );
            env.client_with(
                env.manager(user_tokens(&env.user))
                    .shared_with(Arc::new(shared)),
            )
        })
        .collect();

    for round in 1..=3u64 {
        env.sandbox.expire_access_tokens();
        let answers =
            futures::future::join_all(replicas.iter().map(|client| client.user_account())).await;
        for (i, answer) in answers.into_iter().enumerate() {
            answer.unwrap_or_else(|e| panic!("round {round}: replica {i} lost its account: {e}"));
        }
        assert_eq!(
            env.sandbox.stats().refresh_grants,
            round,
            "round {round}: one refresh serves every replica"
        );
    }

    // Control: a replica refreshing on its own with the configured refresh token (retired by
    // the first shared refresh) is refused, which is what sharing prevents.
    let lone = env.client_with(env.manager(user_tokens(&env.user)));
    env.sandbox.expire_access_tokens();
    assert!(lone.user_account().await.is_err());
}
