//! `pinbridge auth --account NAME`: the OAuth authorization-code flow.
//!
//! Prints an authorize URL (random `state`, minimum scopes), receives the redirect on a local
//! listener (`--listen`) or as a pasted URL (headless servers), checks `state` in constant
//! time, trades the code for tokens and stores them sealed in the account's store record. The
//! record's origin is the account's configured tokens, so a config without tokens picks the
//! stored ones at startup; adding tokens to the config later makes those win again.

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::{Context, anyhow};
use axum::extract::Query;
use axum::routing::get;
use rand::Rng;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;
use url::Url;

use super::CommandError;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::pinterest::{Credentials, TokenManager};
use crate::sync::tokens::origin_of;

// Decided with the service's browser connect, which asks for the same.
pub use crate::app::connect_setup::auth_scopes;

pub struct AuthArgs {
    pub account: String,
    pub listen: Option<SocketAddr>,
    pub redirect_uri: Option<Url>,
    pub authorize_url: Url,
}

pub async fn run(config: &Config, args: AuthArgs) -> Result<(), CommandError> {
    let account = config
        .accounts
        .iter()
        .find(|a| a.name == args.account)
        .ok_or_else(|| {
            CommandError::Usage(format!(
                "no account `{}` in the config (accounts: {})",
                args.account,
                config
                    .accounts
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    let (Some(client_id), Some(client_secret)) =
        (&config.pinterest.client_id, &config.pinterest.client_secret)
    else {
        return Err(CommandError::Usage(
            "pinterest.client_id and pinterest.client_secret are needed for `auth`".into(),
        ));
    };
    let vault = crate::app::accounts_factory::vault_for(config)?.ok_or_else(|| {
        CommandError::Usage(
            "no token key: set PINBRIDGE_TOKEN_KEY (32 random bytes, base64) so the tokens can be stored encrypted".into(),
        )
    })?;
    let redirect_uri = match (&args.redirect_uri, args.listen, &config.server.public_url) {
        (Some(uri), _, _) => uri.clone(),
        (None, Some(addr), _) => Url::parse(&format!("http://{addr}/oauth/callback"))
            .context("building the redirect URI")?,
        (None, None, Some(public)) => public.join("oauth/callback").context("server.public_url")?,
        (None, None, None) => {
            return Err(CommandError::Usage(
                "give --listen ADDR (a local callback) or --redirect-uri URL (then paste the redirect)".into(),
            ));
        }
    };
    let state = hex::encode(rand::rng().random::<[u8; 16]>());
    let url = crate::pinterest::oauth::authorize_url(
        &args.authorize_url,
        client_id,
        redirect_uri.as_str(),
        &auth_scopes(config),
        &state,
    );
    // Open the store first: fail before the user approves anything if `serve` holds it.
    let store = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    println!(
        "Open this URL and approve access for account `{}`:",
        account.name
    );
    println!("{url}");

    let callback = match args.listen {
        Some(addr) => listen_for_callback(addr).await?,
        None => {
            println!("Then paste the address your browser was sent to (it contains code=…):");
            let line = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).map(|_| line)
            })
            .await
            .context("reading the pasted address")?
            .context("reading the pasted address")?;
            Url::parse(line.trim()).map_err(|e| anyhow!("the pasted text is not a URL: {e}"))?
        }
    };
    let params: std::collections::HashMap<String, String> =
        callback.query_pairs().into_owned().collect();
    if let Some(error) = params.get("error") {
        return Err(anyhow!("Pinterest refused the authorization: {error}").into());
    }
    let returned = params.get("state").map(String::as_str).unwrap_or("");
    if !bool::from(returned.as_bytes().ct_eq(state.as_bytes())) {
        return Err(anyhow!(
            "the redirect's state does not match this request; start `pinbridge auth` again"
        )
        .into());
    }
    let code = params
        .get("code")
        .ok_or_else(|| anyhow!("the redirect has no `code` parameter"))?;

    let http = reqwest::Client::builder()
        .timeout(config.pinterest.timeout)
        .build()
        .context("building the HTTP client")?;
    let credentials = Credentials {
        client_id: client_id.clone(),
        client_secret: client_secret.clone(),
    };
    let token_url = crate::app::accounts_factory::token_url(&config.pinterest.api_base)?;
    let tokens = TokenManager::exchange_code(
        &token_url,
        &credentials,
        code,
        redirect_uri.as_str(),
        &http,
        &SystemClock,
    )
    .await
    .context("exchanging the authorization code")?;
    let blob = vault.seal(&account.name, &tokens, &origin_of(account));
    // Atomic: with PostgreSQL, replicas may be writing the same record meanwhile.
    store
        .update_account_state(
            &account.name,
            Box::new(move |state| {
                state.tokens = Some(blob.clone());
                state.problem = None;
            }),
        )
        .await
        .context("storing the tokens")?;
    store.close().await.context("closing the store")?;
    println!(
        "Account `{}` is authorized (scopes: {}); the tokens are stored encrypted.",
        account.name,
        tokens.scope.as_deref().unwrap_or("as requested")
    );
    Ok(())
}

/// Serve `GET /oauth/callback` on `addr` until the first redirect arrives; return its URL.
async fn listen_for_callback(addr: SocketAddr) -> anyhow::Result<Url> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let (tx, rx) = oneshot::channel::<Url>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let router = axum::Router::new().route(
        "/oauth/callback",
        get(move |Query(q): Query<Vec<(String, String)>>| {
            let tx = tx.clone();
            async move {
                let mut url = Url::parse("http://callback/").expect("static URL");
                url.query_pairs_mut().extend_pairs(q);
                if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    let _ = tx.send(url);
                }
                "pinbridge received the authorization; you can close this window."
            }
        }),
    );
    let stop = tokio_util::sync::CancellationToken::new();
    let server_stop = stop.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(server_stop.cancelled_owned())
            .await
    });
    let url = rx.await.context("the callback listener stopped")?;
    stop.cancel();
    let _ = server.await;
    Ok(url)
}
