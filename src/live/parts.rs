//! What an effective configuration runs as: the sources' pollers, the webhook set, the routes
//! for ingest and for the sync engine. Building them touches nothing running, so a config that
//! fails here (a feed URL the fetcher refuses, a webhook secret that cannot key a MAC) is
//! refused whole and the running one stays.

use std::collections::HashMap;

use crate::config::{ConfigProblem, SourceConfig, SourceSettings};
use crate::ingest::IngestConfig;
use crate::item::SourceId;
use crate::sources::feed::{FeedSource, Fetcher};
use crate::sources::shop::{EtsyBudgets, EtsySource, ShopSource, ShopifySource};
use crate::sources::webhook::{Hook, WebhookSettings};
use crate::sync::RouteRuntime;

use super::effective::Effective;

/// A polled source, built but not started.
pub enum Task {
    Feed(Box<FeedSource>),
    Shop(ShopSource),
}

impl Task {
    pub fn is_feed(&self) -> bool {
        matches!(self, Task::Feed(_))
    }
}

/// Everything the running service needs from one effective configuration.
pub struct Parts {
    /// Polled sources that are not paused.
    pub feeds: Vec<FeedSource>,
    pub shops: Vec<ShopSource>,
    /// Each source's entry as merged, by id: a poller whose entry changed is restarted.
    pub tables: HashMap<String, toml::Table>,
    pub hooks: Vec<(SourceId, WebhookSettings)>,
    pub ingest: IngestConfig,
    pub routes: HashMap<String, RouteRuntime>,
}

impl Parts {
    /// The pollers to run, with the entry each was built from.
    pub fn into_tasks(
        feeds: Vec<FeedSource>,
        shops: Vec<ShopSource>,
        tables: &HashMap<String, toml::Table>,
    ) -> Vec<(String, toml::Table, Task)> {
        let entry = |id: &str| (id.to_string(), tables.get(id).cloned().unwrap_or_default());
        let feeds = feeds.into_iter().map(|f| {
            let (id, table) = entry(f.id().as_str());
            (id, table, Task::Feed(Box::new(f)))
        });
        let shops = shops.into_iter().map(|s| {
            let (id, table) = entry(s.id().as_str());
            (id, table, Task::Shop(s))
        });
        feeds.chain(shops).collect()
    }
}

/// Shared by every build: one connection pool for all feeds, one request budget per Etsy key.
#[derive(Clone, Default)]
pub struct Factory {
    fetcher: Fetcher,
    budgets: EtsyBudgets,
}

impl Factory {
    /// Every feed and shop fetches through `fetcher` (the `[fetch]` caps hold across them).
    pub fn new(fetcher: Fetcher) -> Self {
        Self {
            fetcher,
            budgets: EtsyBudgets::default(),
        }
    }

    /// A polled source built with the shared fetcher, not started; `None` for a webhook.
    pub fn task(&self, source: &SourceConfig) -> Option<Result<Task, String>> {
        let id = SourceId::new(&source.common.id);
        let task = match &source.settings {
            SourceSettings::Feed(settings) => {
                FeedSource::new(id, settings.clone(), self.fetcher.clone())
                    .map(|f| Task::Feed(Box::new(f)))
                    .map_err(|e| e.to_string())
            }
            SourceSettings::Etsy(settings) => EtsySource::new(
                id,
                settings.as_ref().clone(),
                self.fetcher.clone(),
                &self.budgets,
            )
            .map(|s| Task::Shop(ShopSource::Etsy(Box::new(s))))
            .map_err(|e| e.to_string()),
            SourceSettings::Shopify(settings) => {
                ShopifySource::new(id, settings.clone(), self.fetcher.clone())
                    .map(|s| Task::Shop(ShopSource::Shopify(Box::new(s))))
                    .map_err(|e| e.to_string())
            }
            SourceSettings::Webhook(_) => return None,
        };
        Some(task)
    }

    /// Build every part of `effective`; all problems are returned together.
    pub fn parts(&self, effective: &Effective) -> Result<Parts, Vec<ConfigProblem>> {
        let config = &effective.config;
        let tables = effective.source_tables();
        let mut problems = Vec::new();
        let (mut feeds, mut shops, mut hooks) = (Vec::new(), Vec::new(), Vec::new());
        for source in config.sources.iter().filter(|s| !s.common.paused) {
            let name = source.common.id.clone();
            let path = format!("sources[{name}]");
            let id = SourceId::new(&name);
            let task = match &source.settings {
                SourceSettings::Webhook(settings) => {
                    // Built here only to check it; the webhook set builds its own.
                    match Hook::new(id.clone(), settings.as_ref().clone(), &path) {
                        Ok(_) => hooks.push((id, settings.as_ref().clone())),
                        Err(mut p) => problems.append(&mut p),
                    }
                    continue;
                }
                _ => match self.task(source) {
                    Some(task) => task,
                    None => continue,
                },
            };
            match task {
                Ok(Task::Feed(feed)) => feeds.push(*feed),
                Ok(Task::Shop(shop)) => shops.push(shop),
                Err(message) => problems.push(ConfigProblem::new(path, message)),
            }
        }
        let mut routes = HashMap::new();
        for (i, route) in config.routes.iter().enumerate() {
            let name = crate::routing::route_name(i, route.name.as_deref());
            match route.templates() {
                Ok(templates) => {
                    routes.insert(
                        name,
                        RouteRuntime {
                            templates,
                            create_missing: route.create_missing,
                            board_privacy: route.board_privacy_api(),
                            board_description: route.board_description.clone(),
                            min_spacing: route.min_spacing,
                            update_fallback: route.update_fallback,
                            adopt_existing: route.adopt_existing,
                        },
                    );
                }
                Err((key, message)) => {
                    problems.push(ConfigProblem::new(format!("routes[{name}].{key}"), message))
                }
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Parts {
            feeds,
            shops,
            tables,
            hooks,
            ingest: crate::routing::ingest_config(config),
            routes,
        })
    }
}
