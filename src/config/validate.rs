//! Checks across sections: references between sources, routes and accounts, regexes and
//! templates. Each failure names the key it is about.

use std::collections::HashSet;

use super::{Config, ConfigProblem};

pub fn check(config: &Config, problems: &mut Vec<ConfigProblem>) {
    let mut ids = HashSet::new();
    for (i, source) in config.sources.iter().enumerate() {
        let id = &source.common.id;
        let path = format!("sources[{i}].id");
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push(ConfigProblem::new(
                path,
                format!("`{id}` is not a valid source id: use letters, digits, `-` and `_` (it appears in URLs)"),
            ));
        } else if !ids.insert(id.as_str()) {
            problems.push(ConfigProblem::new(
                path,
                format!("source id `{id}` is used twice"),
            ));
        }
    }

    let mut names = HashSet::new();
    for (i, account) in config.accounts.iter().enumerate() {
        if account.name.is_empty() || !names.insert(account.name.as_str()) {
            problems.push(ConfigProblem::new(
                format!("accounts[{i}].name"),
                format!("account name `{}` is empty or used twice", account.name),
            ));
        }
        if account.writes_per_minute == 0 {
            problems.push(ConfigProblem::new(
                format!("accounts[{i}].writes_per_minute"),
                "must be at least 1",
            ));
        }
        if account.refresh_token.is_some()
            && (config.pinterest.client_id.is_none() || config.pinterest.client_secret.is_none())
        {
            problems.push(ConfigProblem::new(
                format!("accounts[{i}].refresh_token"),
                "refreshing a token needs pinterest.client_id and pinterest.client_secret",
            ));
        }
    }

    check_server(&config.server, problems);
    config.store.check(problems);
    if let Some(url) = &config.store.url {
        use secrecy::ExposeSecret;
        let url = url.expose_secret();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            problems.push(ConfigProblem::new(
                "store.url",
                "must be a postgres:// URL (leave it out for the embedded store)",
            ));
        }
    }
    if !matches!(config.pinterest.api_base.scheme(), "http" | "https") {
        problems.push(ConfigProblem::new(
            "pinterest.api_base",
            "must be an http(s) URL",
        ));
    }
    config.fetch.validate(problems);
    config.analytics.validate(problems);
    if config.sync.workers == 0 {
        problems.push(ConfigProblem::new("sync.workers", "must be at least 1"));
    }
    if config.sync.reconcile_pages == Some(0) || config.sync.reconcile_depth == Some(0) {
        problems.push(ConfigProblem::new(
            "sync.reconcile_pages",
            "must be at least 1: a reconcile that reads nothing can never find a Pin",
        ));
    }
    if config.sync.reconcile_time.is_zero() {
        problems.push(ConfigProblem::new(
            "sync.reconcile_time",
            "must be longer than 0s",
        ));
    }

    for (i, route) in config.routes.iter().enumerate() {
        let path = |key: &str| format!("routes[{i}].{key}");
        if route.source != "*" && !ids.contains(route.source.as_str()) {
            problems.push(ConfigProblem::new(
                path("source"),
                format!("no source has id `{}`", route.source),
            ));
        }
        match &route.account {
            Some(name) if !names.contains(name.as_str()) => problems.push(ConfigProblem::new(
                path("account"),
                format!("no account is named `{name}`"),
            )),
            None if config.accounts.len() != 1 => problems.push(ConfigProblem::new(
                path("account"),
                "name the account: there is not exactly one [[accounts]]",
            )),
            _ => {}
        }
        match (&route.board, &route.board_id) {
            (None, None) => problems.push(ConfigProblem::new(
                format!("routes[{i}]"),
                "set `board` (a name) or `board_id`",
            )),
            (Some(_), Some(_)) => problems.push(ConfigProblem::new(
                path("board_id"),
                "set `board` or `board_id`, not both",
            )),
            (None, Some(id)) if !is_numeric_id(id) => problems.push(ConfigProblem::new(
                path("board_id"),
                "a board id is a string of digits",
            )),
            _ => {}
        }
        if route.section.is_some() && route.section_id.is_some() {
            problems.push(ConfigProblem::new(
                path("section_id"),
                "set `section` or `section_id`, not both",
            ));
        }
        if let Some(id) = &route.section_id
            && !is_numeric_id(id)
        {
            problems.push(ConfigProblem::new(
                path("section_id"),
                "a section id is a string of digits",
            ));
        }
        for (key, pattern) in [
            ("when.title", &route.when.title),
            ("when.link", &route.when.link),
        ] {
            if let Some(pattern) = pattern
                && let Err(e) = regex::Regex::new(pattern)
            {
                problems.push(ConfigProblem::new(
                    path(key),
                    format!("not a valid regex: {e}"),
                ));
            }
        }
        if let Err((key, message)) = route.templates() {
            problems.push(ConfigProblem::new(path(key), message));
        }
    }
    let only_account = match config.accounts.as_slice() {
        [only] => Some(only.name.as_str()),
        _ => None,
    };
    super::route_checks::validate_routes(&config.routes, only_account, problems);
    super::route_checks::validate_board_keys(&config.routes, problems);
}

/// `[server]`: the public URL, the admin token's strength, the listeners and the limits.
fn check_server(server: &super::ServerConfig, problems: &mut Vec<ConfigProblem>) {
    use secrecy::ExposeSecret;
    if let Some(url) = &server.public_url
        && !matches!(url.scheme(), "http" | "https")
    {
        problems.push(ConfigProblem::new(
            "server.public_url",
            "must be an http(s) URL",
        ));
    }
    if let Some(token) = &server.admin_token {
        // Characters, not bytes: the rule is about what the operator typed. An empty value
        // (an unset secret rendered as "") would otherwise open the admin API to everyone.
        let length = token.expose_secret().trim().chars().count();
        if length < super::MIN_ADMIN_TOKEN_LEN {
            problems.push(ConfigProblem::new(
                "server.admin_token",
                format!(
                    "is {} characters long; use at least {} random characters, e.g. the output of `openssl rand -hex 32` (or leave the key out to turn the admin API off)",
                    length,
                    super::MIN_ADMIN_TOKEN_LEN
                ),
            ));
        }
    }
    if server.admin_listen.is_some() && server.admin_listen == Some(server.listen) {
        problems.push(ConfigProblem::new(
            "server.admin_listen",
            "must differ from server.listen (leave it out to serve the admin API on the main port)",
        ));
    }
    for (key, value) in [
        ("server.header_read_timeout", server.header_read_timeout),
        ("server.body_read_timeout", server.body_read_timeout),
        ("server.request_timeout", server.request_timeout),
    ] {
        if value.is_zero() {
            problems.push(ConfigProblem::new(key, "must be longer than 0s"));
        }
    }
    if server.max_connections == 0 {
        problems.push(ConfigProblem::new(
            "server.max_connections",
            "must be at least 1",
        ));
    }
}

fn is_numeric_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())
}
