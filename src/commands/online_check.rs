//! `check --online`: every account answers with its token, the token grants the scopes
//! pinbridge needs (when its granted scopes are known; the secret-board ones too when a route of
//! the account wants a secret board), every route's named board resolves.
//! Creates nothing and prints nothing: the report says what was found, the command shows it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::config::Config;
use crate::sync::account::AccountRuntime;
use crate::sync::boards::ResolveError;
use crate::sync::route::Routes;
use crate::sync::scopes::{READ_SECRET_BOARDS, grants, missing_scopes_for};

/// What the routes say about their boards beyond the name, by route name.
#[derive(Debug, Default)]
pub struct BoardPlans {
    /// Routes that may create a missing board.
    pub create_missing: HashSet<String>,
    /// Routes that want a secret board.
    pub secret: HashSet<String>,
}

/// What the check found, accounts first, then routes, each in configuration order.
#[derive(Debug, Default)]
pub struct OnlineReport {
    pub accounts: Vec<AccountCheck>,
    pub routes: Vec<RouteCheck>,
}

/// How one account answered.
#[derive(Debug)]
pub struct AccountCheck {
    pub account: String,
    pub answer: AccountAnswer,
}

#[derive(Debug)]
pub enum AccountAnswer {
    /// The token works; Pinterest named the user (when it did).
    SignedIn { username: Option<String> },
    /// The account could not be used: why.
    Failed(String),
}

/// How one route's board resolved.
#[derive(Debug)]
pub struct RouteCheck {
    pub route: String,
    /// The board as the route names it.
    pub board: String,
    pub answer: BoardAnswer,
}

#[derive(Debug)]
pub enum BoardAnswer {
    Found {
        id: String,
    },
    /// The board does not exist and the route says `create_missing`: the first Pin creates it.
    WillBeCreated {
        name: String,
    },
    /// The board cannot be used: why.
    Failed(String),
}

impl OnlineReport {
    /// Every problem, readable, in the order found.
    pub fn problems(&self) -> Vec<String> {
        let accounts = self
            .accounts
            .iter()
            .filter_map(|check| match &check.answer {
                AccountAnswer::Failed(why) => Some(format!("account `{}`: {why}", check.account)),
                AccountAnswer::SignedIn { .. } => None,
            });
        let routes = self.routes.iter().filter_map(|check| match &check.answer {
            BoardAnswer::Failed(why) => Some(format!("route `{}`: {why}", check.route)),
            BoardAnswer::Found { .. } | BoardAnswer::WillBeCreated { .. } => None,
        });
        accounts.chain(routes).collect()
    }
}

/// The routes `config` defines, and what they say about their boards.
pub fn configured_routes(config: &Config) -> (Routes, BoardPlans) {
    let named = |keep: fn(&crate::config::RouteConfig) -> bool| {
        config
            .routes
            .iter()
            .enumerate()
            .filter(|(_, route)| keep(route))
            .map(|(i, route)| crate::app::route_name(i, route.name.as_deref()))
            .collect()
    };
    let plans = BoardPlans {
        create_missing: named(|route| route.create_missing),
        secret: named(|route| route.wants_secret_board()),
    };
    (crate::app::ingest_config(config).routes, plans)
}

/// Ask every account who it is, and resolve every route's board (without creating it).
/// `plans` names the routes whose missing board is not a problem and those wanting a secret one.
pub async fn check_online(
    accounts: &[Arc<AccountRuntime>],
    routes: &Routes,
    plans: &BoardPlans,
) -> OnlineReport {
    let mut report = OnlineReport::default();
    for account in accounts {
        let secret_boards = routes
            .rules()
            .iter()
            .any(|rule| rule.account == account.name && plans.secret.contains(&rule.name));
        let answer = match account.client.user_account().await {
            Ok(user) => match missing_scopes_of(account, secret_boards).await {
                Some(missing) => AccountAnswer::Failed(format!(
                    "signed in, but the token lacks scopes Pins need; reconnect with \
                     `pinbridge auth --account {}` — scopes needed: {}",
                    account.name,
                    missing.join(", ")
                )),
                None => AccountAnswer::SignedIn {
                    username: user.username,
                },
            },
            Err(e) => AccountAnswer::Failed(e.to_string()),
        };
        report.accounts.push(AccountCheck {
            account: account.name.clone(),
            answer,
        });
    }
    let by_name: HashMap<&str, &AccountRuntime> = accounts
        .iter()
        .map(|a| (a.name.as_str(), a.as_ref()))
        .collect();
    for rule in routes.rules() {
        let answer = match by_name.get(rule.account.as_str()) {
            None => BoardAnswer::Failed(format!("account `{}` is not configured", rule.account)),
            Some(account) => match account
                .boards
                .board_id(&account.client, &rule.board, false)
                .await
            {
                Ok(id) => BoardAnswer::Found { id },
                Err(ResolveError::NoBoard(name)) if plans.create_missing.contains(&rule.name) => {
                    // The engine refuses to create a board the token may just not see.
                    let granted = account.client.tokens().tokens().await.scope;
                    if granted.is_some_and(|g| !grants(&g, READ_SECRET_BOARDS)) {
                        BoardAnswer::Failed(
                            ResolveError::MaybeSecret {
                                board: name,
                                account: account.name.clone(),
                            }
                            .to_string(),
                        )
                    } else {
                        BoardAnswer::WillBeCreated { name }
                    }
                }
                Err(e) => BoardAnswer::Failed(e.to_string()),
            },
        };
        report.routes.push(RouteCheck {
            route: rule.name.clone(),
            board: rule.board.clone(),
            answer,
        });
    }
    report
}

/// The needed scopes the account's token lacks, when its granted scopes are known: a token
/// answer lists them (a refresh, or `pinbridge auth`), a token from the config alone does not,
/// and `GET /user_account` does not say.
async fn missing_scopes_of(
    account: &AccountRuntime,
    secret_boards: bool,
) -> Option<Vec<&'static str>> {
    let granted = account.client.tokens().tokens().await.scope?;
    Some(missing_scopes_for(&granted, secret_boards)).filter(|missing| !missing.is_empty())
}
