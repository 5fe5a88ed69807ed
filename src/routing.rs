//! Routes from configuration: the `[[routes]]` entries as the rules the ingest handle matches
//! items against, and the name each route's jobs carry.

use crate::config::Config;
use crate::ingest::{IngestConfig, RoutePolicy};
use crate::item::SourceId;
use crate::rollup::RouteTemplates;
use crate::sync::route::{RouteRule, Routes, When};

/// The name a route's jobs carry: its `name`, or `routes[i]`.
pub fn route_name(index: usize, name: Option<&str>) -> String {
    name.map(str::to_string)
        .unwrap_or_else(|| format!("routes[{index}]"))
}

/// Routes and per-source policies for the ingest handle.
pub fn ingest_config(config: &Config) -> IngestConfig {
    let default_account = match config.accounts.as_slice() {
        [only] => only.name.clone(),
        _ => String::new(),
    };
    let rules = config
        .routes
        .iter()
        .enumerate()
        .map(|(i, route)| RouteRule {
            name: route_name(i, route.name.as_deref()),
            source: route.source.clone(),
            account: route
                .account
                .clone()
                .unwrap_or_else(|| default_account.clone()),
            board: match (&route.board_id, &route.board) {
                (Some(id), _) => format!("id:{id}"),
                (None, Some(name)) => name.clone(),
                (None, None) => String::new(),
            },
            section: match (&route.section_id, &route.section) {
                (Some(id), _) => Some(format!("id:{id}")),
                (None, name) => name.clone(),
            },
            when: When {
                categories: route.when.category.clone(),
                // Validation compiled these already; a failure here cannot happen.
                title: route
                    .when
                    .title
                    .as_deref()
                    .and_then(|r| regex::Regex::new(r).ok()),
                link: route
                    .when
                    .link
                    .as_deref()
                    .and_then(|r| regex::Regex::new(r).ok()),
            },
        })
        .collect();
    let policies = config
        .routes
        .iter()
        .enumerate()
        .map(|(i, route)| {
            let policy = RoutePolicy {
                on_change: route.on_change,
                on_delete: route.on_delete,
            };
            (route_name(i, route.name.as_deref()), policy)
        })
        .collect();
    IngestConfig {
        routes: Routes::new(rules),
        policies,
        on_change: config
            .sources
            .iter()
            .map(|s| (SourceId::new(&s.common.id), s.common.on_change))
            .collect(),
    }
}

/// Each configured route's title and description templates, by the name its jobs carry: what
/// a roll-up `by template` groups under.
pub fn route_templates(config: &Config) -> RouteTemplates {
    RouteTemplates::new(config.routes.iter().enumerate().map(|(i, route)| {
        (
            route_name(i, route.name.as_deref()),
            route.title.as_deref(),
            route.description.as_deref(),
        )
    }))
}
