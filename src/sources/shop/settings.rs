//! `[[sources]] kind = "etsy"` and `kind = "shopify"`: their keys, defaults and validation.
//!
//! Both kinds share the polling keys of a feed (interval, backfill, timeouts, `allow_private`),
//! read as one `sources::poll::settings::Polling`; they are repeated in each struct rather than
//! flattened, so unknown keys are still reported.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::settings::ConfigProblem;
use crate::settings::join;
pub use crate::sources::poll::settings::Polling;
use crate::sources::poll::settings::{Backfill, check_fetch_knobs};

/// No shop is polled more often than this (politeness floor, as for feeds).
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// No backoff waits longer than this.
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// The checks of the polling keys a shop has.
fn validate_polling(
    polling: &Polling,
    removal_grace: Duration,
    path: &str,
    problems: &mut Vec<ConfigProblem>,
) {
    let mut problem = |key: &str, message: String| {
        problems.push(ConfigProblem::new(join(path, key), message));
    };
    let fmt = |d: Duration| humantime::format_duration(d).to_string();
    if polling.interval < MIN_INTERVAL {
        problem(
            "interval",
            format!(
                "{} is too short; poll a shop at most every {}",
                fmt(polling.interval),
                fmt(MIN_INTERVAL)
            ),
        );
    }
    check_fetch_knobs(
        polling.jitter,
        polling.timeout,
        polling.connect_timeout,
        polling.max_body_bytes,
        polling.user_agent.as_deref(),
        &mut problem,
    );
    if polling.park_after == 0 {
        problem("park_after", "must be at least 1".into());
    }
    if removal_grace < polling.interval {
        problem(
            "removal_grace",
            format!(
                "{} is shorter than interval ({}); a listing must be missing from at least two passes before it counts as removed (the default is 2d)",
                fmt(removal_grace),
                fmt(polling.interval)
            ),
        );
    }
}

/// Defines a settings struct with the shared polling keys plus its own.
macro_rules! shop_settings {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty = $default:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
            /// How often to poll.
            #[serde(with = "crate::settings::duration")]
            pub interval: Duration,
            /// Random spread of each wait, as a fraction of it.
            pub jitter: f64,
            /// What to do with the shop's current listings on first contact.
            pub backfill: Backfill,
            #[serde(with = "crate::settings::duration")]
            pub timeout: Duration,
            #[serde(with = "crate::settings::duration")]
            pub connect_timeout: Duration,
            pub max_body_bytes: u64,
            pub user_agent: Option<String>,
            /// Allow fetching from loopback and private addresses (tests, self-hosted stand-ins).
            pub allow_private: bool,
            pub park_after: u32,
            #[serde(with = "crate::settings::duration")]
            pub parked_interval: Duration,
            /// How long a listing must stay absent from complete listing passes before it
            /// counts as removed at the shop.
            #[serde(with = "crate::settings::duration")]
            pub removal_grace: Duration,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                    interval: Duration::from_secs(15 * 60),
                    jitter: 0.1,
                    backfill: Backfill::None,
                    timeout: Duration::from_secs(20),
                    connect_timeout: Duration::from_secs(10),
                    max_body_bytes: 15 * 1024 * 1024,
                    user_agent: None,
                    allow_private: false,
                    park_after: 10,
                    parked_interval: Duration::from_secs(24 * 60 * 60),
                    removal_grace: crate::sources::poll::missing::DEFAULT_REMOVAL_GRACE,
                }
            }
        }

        impl $name {
            /// The shared polling keys.
            pub fn polling(&self) -> Polling {
                Polling {
                    interval: self.interval,
                    jitter: self.jitter,
                    backfill: self.backfill,
                    timeout: self.timeout,
                    connect_timeout: self.connect_timeout,
                    max_body_bytes: self.max_body_bytes,
                    user_agent: self.user_agent.clone(),
                    allow_private: self.allow_private,
                    park_after: self.park_after,
                    parked_interval: self.parked_interval,
                    min_interval: MIN_INTERVAL,
                    max_interval: MAX_INTERVAL,
                }
            }
        }
    };
}

/// Why `favorites_of` is refused: Etsy removed `findAllUserFavoriteListings` from Open API v3
/// and said it will not come back.
pub const FAVORITES_RETIRED: &str = "Etsy retired the favorites endpoint from its Open API v3 (etsy/open-api#478); use a shop's listings (`shop_id`) or a list of listing ids (`listing_ids = [..]`) instead";

/// Etsy's public API root.
pub const ETSY_API_BASE: &str = "https://openapi.etsy.com";

shop_settings! {
    /// An Etsy shop's active listings, or a fixed list of listings, through Etsy Open API v3.
    EtsySettings {
        /// The API root (a stand-in's address in tests).
        pub api_base: String = ETSY_API_BASE.to_string(),
        /// The app's keystring, or `keystring:shared_secret` in one value.
        pub api_key: Option<SecretString> = None,
        /// The app's shared secret (Etsy requires `x-api-key: keystring:shared_secret` since 2026).
        pub shared_secret: Option<SecretString> = None,
        /// The shop by numeric id…
        pub shop_id: Option<u64> = None,
        /// …or by name, resolved once per run.
        pub shop_name: Option<String> = None,
        /// Instead of a shop: these listings, each read by id.
        pub listing_ids: Option<Vec<u64>> = None,
        /// Kept only to explain itself: Etsy retired the user favorites endpoint, so a config that
        /// still sets it is refused with what to use instead (never a source that reads nothing).
        pub favorites_of: Option<String> = None,
        /// OAuth access token (`<user_id>.<token>`), sent as a bearer token when set; no endpoint
        /// pinbridge reads requires it.
        pub access_token: Option<SecretString> = None,
        /// Etsy's per-second limit for this API key (shared by every source using the key).
        pub requests_per_second: u32 = 10,
        /// Etsy's daily limit for this API key (a sliding 24 h window).
        pub requests_per_day: u32 = 10_000,
        /// Stop reading a shop after this many listings per poll.
        pub max_listings: usize = 10_000,
    }
}

shop_settings! {
    /// A Shopify storefront's public products (`/products.json`) or a collection's Atom feed.
    ShopifySettings {
        /// The storefront's address, e.g. `https://shop.example.com`.
        pub store: String = String::new(),
        /// Read this collection's Atom feed (`/collections/{handle}.atom`) instead of products.json.
        pub collection: Option<String> = None,
    }
}

impl EtsySettings {
    /// The `x-api-key` value: `keystring:shared_secret`.
    pub fn api_key_header(&self) -> Option<SecretString> {
        let key = self.api_key.as_ref()?.expose_secret().trim();
        match &self.shared_secret {
            Some(secret) => Some(format!("{key}:{}", secret.expose_secret().trim()).into()),
            None => Some(key.to_string().into()),
        }
    }

    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        validate_polling(&self.polling(), self.removal_grace, path, problems);
        let mut problem = |key: &str, message: &str| {
            problems.push(ConfigProblem::new(join(path, key), message));
        };
        if let Err(message) = check_base(&self.api_base) {
            problem("api_base", &message);
        }
        match (&self.api_key, &self.shared_secret) {
            (None, _) => problem(
                "api_key",
                "an Etsy source needs `api_key` (your app's keystring) and `shared_secret`, or `api_key = \"keystring:shared_secret\"`",
            ),
            (Some(key), None) if !key.expose_secret().contains(':') => problem(
                "shared_secret",
                "Etsy rejects requests without the shared secret: set `shared_secret`, or write `api_key` as \"keystring:shared_secret\"",
            ),
            _ => {}
        }
        if self.favorites_of.is_some() {
            problem("favorites_of", FAVORITES_RETIRED);
        }
        let targets = [
            self.shop_id.is_some(),
            self.shop_name.is_some(),
            self.listing_ids.is_some(),
        ];
        match targets.iter().filter(|t| **t).count() {
            // A retired `favorites_of` was the target; its own problem already says what to do.
            0 if self.favorites_of.is_some() => {}
            0 => problem(
                "shop_id",
                "say what to read: `shop_id`, `shop_name` or `listing_ids = [..]`",
            ),
            1 => {}
            _ => problem(
                "shop_id",
                "give only one of `shop_id`, `shop_name` and `listing_ids`",
            ),
        }
        if self.listing_ids.as_ref().is_some_and(Vec::is_empty) {
            problem("listing_ids", "must name at least one listing id");
        }
        if self
            .shop_name
            .as_deref()
            .is_some_and(|n| n.trim().is_empty())
        {
            problem("shop_name", "must not be empty");
        }
        if self.requests_per_second == 0 {
            problem("requests_per_second", "must be at least 1");
        }
        if self.requests_per_day == 0 {
            problem("requests_per_day", "must be at least 1");
        }
        if self.max_listings == 0 {
            problem("max_listings", "must be at least 1");
        }
    }
}

impl ShopifySettings {
    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        validate_polling(&self.polling(), self.removal_grace, path, problems);
        if self.store.trim().is_empty() {
            problems.push(ConfigProblem::new(
                join(path, "store"),
                "a Shopify source needs `store`, the storefront's address (https://shop.example.com)",
            ));
        } else if let Err(message) = check_base(&self.store) {
            problems.push(ConfigProblem::new(join(path, "store"), message));
        }
        if let Some(handle) = &self.collection
            && (handle.trim().is_empty() || handle.contains(['/', '?', '#']))
        {
            problems.push(ConfigProblem::new(
                join(path, "collection"),
                format!("`{handle}` is not a collection handle (like \"summer-sale\")"),
            ));
        }
    }
}

/// An absolute http(s) address with a host, used as the root of API paths.
pub(crate) fn check_base(raw: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(raw.trim()).map_err(|e| format!("`{raw}` is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{raw}` must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse_section;

    fn problems<T: serde::de::DeserializeOwned>(
        text: &str,
        validate: impl Fn(&T, &mut Vec<ConfigProblem>),
    ) -> Vec<String> {
        let table: toml::Table = toml::from_str(text).expect("test toml");
        let mut problems = Vec::new();
        if let Some(s) = parse_section::<T>(table, "sources[0]", &mut problems) {
            validate(&s, &mut problems);
        }
        problems.iter().map(ToString::to_string).collect()
    }

    fn etsy(text: &str) -> Vec<String> {
        problems(text, |s: &EtsySettings, p| s.validate("sources[0]", p))
    }

    fn shopify(text: &str) -> Vec<String> {
        problems(text, |s: &ShopifySettings, p| s.validate("sources[0]", p))
    }

    #[test]
    fn etsy_needs_key_secret_and_one_target() {
        assert!(etsy("api_key = \"k:s\"\nshop_id = 1").is_empty());
        assert!(etsy("api_key = \"k\"\nshared_secret = \"s\"\nshop_name = \"x\"").is_empty());
        let p = etsy("api_key = \"k\"\nshop_id = 1");
        assert!(p[0].contains("sources[0].shared_secret"), "{p:?}");
        let p = etsy("shop_id = 1");
        assert!(p[0].contains("sources[0].api_key"), "{p:?}");
        let p = etsy("api_key = \"k:s\"");
        assert!(p[0].contains("shop_id"), "{p:?}");
        let p = etsy("api_key = \"k:s\"\nshop_id = 1\nshop_name = \"x\"");
        assert!(p[0].contains("only one"), "{p:?}");
        let p = etsy("api_key = \"k:s\"\nlisting_ids = []");
        assert!(p[0].contains("sources[0].listing_ids"), "{p:?}");
        assert!(etsy("api_key = \"k:s\"\nlisting_ids = [1, 2]").is_empty());
        let p = etsy("api_key = \"k:s\"\nlisting_ids = [1]\nshop_id = 1");
        assert!(p[0].contains("only one"), "{p:?}");
    }

    #[test]
    fn etsy_favorites_are_refused_with_what_to_use_instead() {
        let p = etsy("api_key = \"k:s\"\nfavorites_of = \"42\"\naccess_token = \"42.t\"");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("sources[0].favorites_of"), "{p:?}");
        assert!(
            p[0].contains("retired") && p[0].contains("listing_ids"),
            "{p:?}"
        );
    }

    #[test]
    fn etsy_key_header_joins_key_and_secret_and_never_shows_them() {
        let table: toml::Table =
            toml::from_str("api_key = \"kk\"\nshared_secret = \"s3cr3tv4lue\"").unwrap();
        let s: EtsySettings = parse_section(table, "s", &mut Vec::new()).unwrap();
        assert_eq!(
            s.api_key_header().unwrap().expose_secret(),
            "kk:s3cr3tv4lue"
        );
        assert!(!format!("{s:?}").contains("s3cr3tv4lue"));
        assert_eq!(s.requests_per_second, 10);
        assert_eq!(s.requests_per_day, 10_000);
    }

    #[test]
    fn shopify_needs_a_store_and_reports_bad_keys() {
        assert!(shopify("store = \"https://shop.example.com\"").is_empty());
        let p = shopify("collection = \"a/b\"\ninterval = \"1m\"");
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|m| m.contains("sources[0].store")));
        assert!(p.iter().any(|m| m.contains("sources[0].interval")));
        assert!(p.iter().any(|m| m.contains("sources[0].collection")));
        let p = shopify("store = \"https://s\"\nstroe = 1");
        assert!(p.iter().any(|m| m.contains("sources[0].stroe")), "{p:?}");
    }
}
