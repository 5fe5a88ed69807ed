//! What "Connect Pinterest account" needs, assembled from the configuration and the built
//! accounts; and the scopes an authorization asks for (shared with `pinbridge auth`).

use std::sync::Arc;

use crate::config::Config;
use crate::http::connect::{Connect, ConnectAccount};
use crate::pinterest::Credentials;
use crate::sync::account::AccountRuntime;
use crate::sync::scopes;
use crate::sync::tokens::origin_of;

use super::accounts_factory::AccountsFactory;

/// The scopes an authorization asks for: reading the account, what every account needs, and
/// the secret-board scopes only when some route wants a secret board (asking for less keeps
/// the consent screen honest). A route that may create a board by name gets
/// `boards:read_secret` alone: without it a secret board of that name looks missing, and
/// pinbridge refuses to create a public twin, so the route could never create its board.
pub fn auth_scopes(config: &Config) -> Vec<&'static str> {
    let mut wanted = vec!["user_accounts:read"];
    wanted.extend(scopes::NEEDED_SCOPES);
    if config.routes.iter().any(|r| r.wants_secret_board()) {
        wanted.extend(scopes::SECRET_BOARD_SCOPES);
    } else if config.routes.iter().any(|r| r.may_create_board_by_name()) {
        wanted.push(scopes::READ_SECRET_BOARDS);
    }
    wanted
}

/// The connect flow's setup: app credentials, authorize page, token endpoint, vault, and each
/// configured account with its running token manager.
pub fn connect_for(
    config: &Config,
    factory: &AccountsFactory<'_>,
    running: &[Arc<AccountRuntime>],
) -> Connect {
    let credentials = match (&config.pinterest.client_id, &config.pinterest.client_secret) {
        (Some(id), Some(secret)) => Some(Credentials {
            client_id: id.clone(),
            client_secret: secret.clone(),
        }),
        _ => None,
    };
    let scopes = auth_scopes(config);
    let accounts = config
        .accounts
        .iter()
        .map(|account| ConnectAccount {
            name: account.name.clone(),
            scopes: scopes.clone(),
            origin: origin_of(account),
            tokens: running
                .iter()
                .find(|r| r.name == account.name)
                .map(|r| r.client.tokens().clone()),
        })
        .collect();
    Connect {
        credentials,
        authorize_base: config.pinterest.authorize_base(),
        token_url: factory.token_url().clone(),
        http: factory.http().clone(),
        vault: factory.vault().cloned(),
        accounts,
    }
}
