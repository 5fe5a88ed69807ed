//! `kind = "etsy"` and `kind = "shopify"` in the config: parsed into their settings, every
//! problem named with its key, and the App sets up one poller per shop source.

use std::path::Path;
use std::sync::Arc;

use pinbridge::app::App;
use pinbridge::clock::ManualClock;
use pinbridge::config::{Config, ConfigError, SourceSettings};
use pinbridge::store::prelude::*;
use pinbridge::store::sled::{SledOptions, SledStore};

const SOURCES: &str = r#"
[[accounts]]
name = "main"
access_token = "pina_test"

[[sources]]
id = "etsy"
kind = "etsy"
api_key = "${ETSY_KEY}"
shared_secret = "secret"
shop_name = "MugHouse"
requests_per_day = 5000

[[sources]]
id = "etsy-picks"
kind = "etsy"
api_key = "key:secret"
listing_ids = [111, 222]

[[sources]]
id = "storefront"
kind = "shopify"
store = "https://shop.example.com"
collection = "summer"
backfill = "latest:3"

[[routes]]
source = "*"
board = "Shop"
"#;

fn env(name: &str) -> Option<String> {
    (name == "ETSY_KEY").then(|| "keystring".to_string())
}

fn problems(text: &str) -> Vec<String> {
    match Config::from_toml(text, Path::new("t.toml"), &env) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn shop_sources_parse_into_their_settings() {
    let config = Config::from_toml(SOURCES, Path::new("t.toml"), &env).expect("valid");
    let SourceSettings::Etsy(etsy) = &config.source("etsy").unwrap().settings else {
        panic!("not etsy")
    };
    assert_eq!(etsy.shop_name.as_deref(), Some("MugHouse"));
    assert_eq!(etsy.requests_per_day, 5000);
    assert_eq!(etsy.requests_per_second, 10);
    let SourceSettings::Shopify(shopify) = &config.source("storefront").unwrap().settings else {
        panic!("not shopify")
    };
    assert_eq!(shopify.collection.as_deref(), Some("summer"));
    assert_eq!(shopify.backfill.to_string(), "latest:3");
}

#[test]
fn shop_problems_are_named_by_key() {
    let text = r#"
[[sources]]
id = "etsy"
kind = "etsy"
api_key = "keystring"
shop_nmae = "MugHouse"

[[sources]]
id = "storefront"
kind = "shopify"
interval = "1m"
"#;
    let p = problems(text);
    let has = |needle: &str| p.iter().any(|m| m.contains(needle));
    assert!(
        has("sources[0].shop_nmae: unknown key (did you mean `shop_name`?)"),
        "{p:?}"
    );
    assert!(has("sources[0].shared_secret"), "{p:?}");
    assert!(has("sources[0].shop_id"), "{p:?}");
    assert!(has("sources[1].store"), "{p:?}");
    assert!(has("sources[1].interval"), "{p:?}");
    assert!(!has("not available"), "{p:?}");
}

#[test]
fn etsy_favorites_are_refused_with_what_to_use_instead() {
    let text = r#"
[[sources]]
id = "favs"
kind = "etsy"
api_key = "key:secret"
favorites_of = "42"
access_token = "42.token"
"#;
    let p = problems(text);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("sources[0].favorites_of")
            && p[0].contains("Etsy retired the favorites endpoint")
            && p[0].contains("listing_ids = [..]"),
        "{p:?}"
    );
}

#[tokio::test]
async fn the_app_sets_up_every_shop_source() {
    let config = Config::from_toml(SOURCES, Path::new("t.toml"), &env).expect("valid");
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(
        SledStore::open_async(dir.path().join("store"), SledOptions::default(), None)
            .await
            .unwrap(),
    );
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let app = App::build_with_store(&config, clock, store)
        .await
        .expect("built");
    let ids: Vec<(&str, &str)> = app
        .shops()
        .iter()
        .map(|s| (s.id().as_str(), s.kind()))
        .collect();
    assert_eq!(
        ids,
        [
            ("etsy", "etsy"),
            ("etsy-picks", "etsy"),
            ("storefront", "shopify")
        ]
    );
}
