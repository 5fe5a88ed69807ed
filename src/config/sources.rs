//! Building the typed [`Config`] from the interpolated TOML tree, section by section.
//!
//! Each `[[sources]]` entry is split: the keys every source has (`id`, `kind`, `paused`,
//! `on_change`) go to [`SourceCommon`], the rest to the settings type of its kind, owned by that
//! source's module. Unknown keys anywhere are reported, with their path.

use super::{Config, ConfigProblem, SourceCommon, SourceKind};
use crate::settings::parse_value;
use crate::sources::feed::FeedSettings;
use crate::sources::shop::{EtsySettings, ShopifySettings};
use crate::sources::webhook::WebhookSettings;

const COMMON_KEYS: [&str; 4] = ["id", "kind", "paused", "on_change"];
const SECTIONS: [&str; 9] = [
    "server",
    "store",
    "pinterest",
    "accounts",
    "sources",
    "routes",
    "sync",
    "fetch",
    "analytics",
];

/// A configured source: its common keys and its kind's settings.
#[derive(Debug)]
pub struct SourceConfig {
    pub common: SourceCommon,
    pub settings: SourceSettings,
}

/// The settings of a source, by kind.
#[derive(Debug)]
pub enum SourceSettings {
    Feed(FeedSettings),
    // Boxed: the largest settings type by far; keeps the enum small.
    Webhook(Box<WebhookSettings>),
    Etsy(Box<EtsySettings>),
    Shopify(ShopifySettings),
}

/// Build the config from the interpolated TOML root, collecting problems.
pub fn build(root: toml::Value, problems: &mut Vec<ConfigProblem>) -> Option<Config> {
    let toml::Value::Table(mut root) = root else {
        return None;
    };
    for key in root.keys() {
        if !SECTIONS.contains(&key.as_str()) {
            problems.push(ConfigProblem::new(
                key.clone(),
                format!("unknown table{}", suggest(key, &SECTIONS)),
            ));
        }
    }
    let before = problems.len();
    let mut config = Config::default();
    if let Some(v) = root.remove("server") {
        config.server = parse_value(v, "server", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("store") {
        config.store = parse_value(v, "store", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("pinterest") {
        config.pinterest = parse_value(v, "pinterest", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("sync") {
        config.sync = parse_value(v, "sync", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("analytics") {
        config.analytics = parse_value(v, "analytics", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("fetch") {
        config.fetch = parse_value(v, "fetch", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("accounts") {
        config.accounts = parse_value(v, "accounts", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("routes") {
        config.routes = parse_value(v, "routes", problems).unwrap_or_default();
    }
    if let Some(v) = root.remove("sources") {
        match v {
            toml::Value::Array(entries) => {
                for (i, entry) in entries.into_iter().enumerate() {
                    if let Some(source) = build_source(entry, &format!("sources[{i}]"), problems) {
                        config.sources.push(source);
                    }
                }
            }
            _ => problems.push(ConfigProblem::new(
                "sources",
                "must be an array of tables: write each source as [[sources]]",
            )),
        }
    }
    for problem in problems.iter_mut().skip(before) {
        if problem.message == "unknown key" {
            problem.message = unknown_key_message(&problem.path);
        }
    }
    Some(config)
}

fn build_source(
    entry: toml::Value,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) -> Option<SourceConfig> {
    let toml::Value::Table(table) = entry else {
        problems.push(ConfigProblem::new(path, "must be a table"));
        return None;
    };
    let (common, rest): (toml::Table, toml::Table) = table
        .into_iter()
        .partition(|(k, _)| COMMON_KEYS.contains(&k.as_str()));
    let common: SourceCommon = parse_value(toml::Value::Table(common), path, problems)?;
    let settings = match common.kind {
        SourceKind::Webhook => {
            let settings: WebhookSettings = parse_value(toml::Value::Table(rest), path, problems)?;
            settings.validate(path, problems);
            SourceSettings::Webhook(Box::new(settings))
        }
        SourceKind::Feed => {
            let settings: FeedSettings = parse_value(toml::Value::Table(rest), path, problems)?;
            settings.validate(path, problems);
            SourceSettings::Feed(settings)
        }
        SourceKind::Etsy => {
            let settings: EtsySettings = parse_value(toml::Value::Table(rest), path, problems)?;
            settings.validate(path, problems);
            SourceSettings::Etsy(Box::new(settings))
        }
        SourceKind::Shopify => {
            let settings: ShopifySettings = parse_value(toml::Value::Table(rest), path, problems)?;
            settings.validate(path, problems);
            SourceSettings::Shopify(settings)
        }
    };
    Some(SourceConfig { common, settings })
}

/// Known keys per section, for "did you mean" hints on unknown keys.
fn known_keys(path: &str) -> &'static [&'static str] {
    let section = path.split(['.', '[']).next().unwrap_or("");
    match section {
        "server" => &[
            "listen",
            "public_url",
            "admin_token",
            "admin_listen",
            "shutdown_grace",
            "watch_config",
            "header_read_timeout",
            "body_read_timeout",
            "request_timeout",
            "max_connections",
        ],
        "store" => &[
            "path",
            "url",
            "cache_capacity_mb",
            "token_keys",
            "keep_payloads",
            "retention_every",
            "compression",
            "engine",
        ],
        "pinterest" => &[
            "api_base",
            "authorize_url",
            "client_id",
            "client_secret",
            "timeout",
        ],
        "accounts" => &[
            "name",
            "access_token",
            "refresh_token",
            "writes_per_minute",
            "daily_cap",
        ],
        "routes" => &[
            "name",
            "source",
            "account",
            "board",
            "board_id",
            "section",
            "section_id",
            "create_missing",
            "adopt_existing",
            "when",
            "title",
            "description",
            "link",
            "alt_text",
            "category",
            "on_change",
            "update_fallback",
            "on_delete",
        ],
        "fetch" => &["max_concurrent", "max_per_host"],
        "analytics" => &["enabled", "interval", "per_minute", "lookback"],
        "sync" => &[
            "workers",
            "max_attempts",
            "backoff_base",
            "backoff_cap",
            "lease",
            "reconcile_pages",
            "reconcile_time",
            "reconcile_skew",
            "reconcile_depth",
        ],
        "sources" => &[
            "id",
            "kind",
            "paused",
            "on_change",
            "url",
            "interval",
            "backfill",
            "preset",
            "secret",
            "allow_private",
            "storefront_url",
            "jitter",
            "timeout",
            "connect_timeout",
            "max_body_bytes",
            "user_agent",
            "min_interval",
            "max_interval",
            "min_image_width",
            "min_image_height",
            "park_after",
            "max_new_items_per_poll",
            "complete",
            "removal_grace",
            "parked_interval",
            "image_from_page",
            "adaptive",
            "categories",
            "tolerance",
            "delivery_horizon",
            "shop_domain",
            "site_url",
            "scheme",
            "signature_header",
            "algorithm",
            "encoding",
            "prefix",
            "signed",
            "timestamp_header",
            "delivery_header",
            "mapping",
            "api_base",
            "api_key",
            "shared_secret",
            "shop_id",
            "shop_name",
            "listing_ids",
            "favorites_of",
            "access_token",
            "requests_per_second",
            "requests_per_day",
            "max_listings",
            "store",
            "collection",
        ],
        _ => &[],
    }
}

fn unknown_key_message(path: &str) -> String {
    let key = path.rsplit(['.', ']']).next().unwrap_or(path);
    format!("unknown key{}", suggest(key, known_keys(path)))
}

fn suggest(key: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(key, k), *k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}
