//! Typed settings of a `kind = "webhook"` source, and their validation.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

use super::mapping::MappingSettings;
use super::verify::keys::decode_whsec;
use crate::config::{ConfigProblem, duration, one_or_many, serde_util::join};

/// Which provider a source receives from: decides the payload mapping and the default scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    Shopify,
    Woocommerce,
    Ghost,
    WpWebhooks,
    Wordpress,
    StandardWebhooks,
    Svix,
    Github,
    Stripe,
    Generic,
}

impl Preset {
    /// The signature scheme used unless `scheme` says otherwise.
    pub fn default_scheme(self) -> Scheme {
        match self {
            Preset::Shopify => Scheme::Shopify,
            Preset::Woocommerce => Scheme::Woocommerce,
            Preset::Ghost => Scheme::Ghost,
            // WordPress has no outgoing webhooks of its own; the WP Webhooks plugin is the usual sender.
            Preset::WpWebhooks | Preset::Wordpress => Scheme::WpWebhooks,
            Preset::StandardWebhooks => Scheme::StandardWebhooks,
            Preset::Svix => Scheme::Svix,
            Preset::Github => Scheme::Github,
            Preset::Stripe => Scheme::Stripe,
            Preset::Generic => Scheme::Generic,
        }
    }

    /// Presets whose payload has no fixed shape: fields come from the `mapping` table.
    pub fn needs_mapping(self) -> bool {
        matches!(
            self,
            Preset::StandardWebhooks
                | Preset::Svix
                | Preset::Github
                | Preset::Stripe
                | Preset::Generic
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Preset::Shopify => "shopify",
            Preset::Woocommerce => "woocommerce",
            Preset::Ghost => "ghost",
            Preset::WpWebhooks => "wp-webhooks",
            Preset::Wordpress => "wordpress",
            Preset::StandardWebhooks => "standard-webhooks",
            Preset::Svix => "svix",
            Preset::Github => "github",
            Preset::Stripe => "stripe",
            Preset::Generic => "generic",
        }
    }
}

/// How a delivery is signed. Normally implied by `preset`; `scheme = …` overrides it (a Shopify
/// payload relayed through Svix, a WordPress REST payload signed Standard Webhooks style).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    Shopify,
    Woocommerce,
    Ghost,
    WpWebhooks,
    StandardWebhooks,
    Svix,
    Github,
    Stripe,
    Generic,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Algorithm {
    #[default]
    Sha256,
    Sha512,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Hex,
    Base64,
}

/// What a `generic` signature covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub enum Signed {
    /// The raw body only.
    #[default]
    #[serde(rename = "body")]
    Body,
    /// `{timestamp}.{body}`, the timestamp (Unix seconds) taken from `timestamp_header`.
    #[serde(rename = "timestamp.body")]
    TimestampBody,
}

pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
const MAX_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The keys of a `[[sources]]` entry with `kind = "webhook"` (besides `id` and `kind`).
#[derive(Clone, Debug, Deserialize)]
pub struct WebhookSettings {
    pub preset: Preset,
    /// Overrides the preset's signature scheme.
    #[serde(default)]
    pub scheme: Option<Scheme>,
    /// One secret or a list (rotation: any one verifies).
    #[serde(default, deserialize_with = "secrets")]
    pub secret: Vec<SecretString>,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Accepted clock difference for schemes that sign a timestamp, in both directions.
    #[serde(default = "default_tolerance", with = "duration")]
    pub tolerance: Duration,
    /// How long delivery ids are remembered: at least the sender's whole retry horizon.
    #[serde(default = "default_horizon", with = "duration")]
    pub delivery_horizon: Duration,
    /// Shopify: the public shop address Pins link to (`https://shop.example.com`).
    #[serde(default)]
    pub storefront_url: Option<String>,
    /// Shopify: if set, `X-Shopify-Shop-Domain` must equal it (the header is not signed, but a
    /// secret shared by several shops should still not let one post into another's source).
    #[serde(default)]
    pub shop_domain: Option<String>,
    /// WordPress: the site whose `/wp-json/wp/v2/media/{id}` gives featured images. Defaults to
    /// the origin of the post's `link`.
    #[serde(default)]
    pub site_url: Option<String>,
    // ---- scheme = "generic" ----
    #[serde(default)]
    pub signature_header: Option<String>,
    #[serde(default)]
    pub algorithm: Option<Algorithm>,
    #[serde(default)]
    pub encoding: Option<Encoding>,
    /// Text before the MAC in the header, e.g. `sha256=`.
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub signed: Option<Signed>,
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// A header carrying a delivery id that stays the same across the sender's retries.
    #[serde(default)]
    pub delivery_header: Option<String>,
    /// Field mapping by JSON Pointer (presets without a fixed payload shape).
    #[serde(default)]
    pub mapping: Option<MappingSettings>,
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_tolerance() -> Duration {
    Duration::from_secs(5 * 60)
}
fn default_horizon() -> Duration {
    Duration::from_secs(7 * 24 * 3600)
}

fn secrets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    Ok(one_or_many::deserialize(d)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

impl WebhookSettings {
    /// Settings with defaults for everything but the preset and secrets (tests, demo).
    pub fn new(preset: Preset, secrets: &[&str]) -> Self {
        Self {
            preset,
            scheme: None,
            secret: secrets.iter().map(|s| SecretString::from(*s)).collect(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            tolerance: default_tolerance(),
            delivery_horizon: default_horizon(),
            storefront_url: None,
            shop_domain: None,
            site_url: None,
            signature_header: None,
            algorithm: None,
            encoding: None,
            prefix: None,
            signed: None,
            timestamp_header: None,
            delivery_header: None,
            mapping: None,
        }
    }

    /// The scheme in force: `scheme` if given, else the preset's.
    pub fn effective_scheme(&self) -> Scheme {
        self.scheme.unwrap_or(self.preset.default_scheme())
    }

    /// Push every problem with these settings, named under `path` (e.g. `sources[2]`).
    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        let at = |key: &str| join(path, key);
        let scheme = self.effective_scheme();
        if self.secret.is_empty() {
            problems.push(ConfigProblem::new(
                at("secret"),
                "required: the signing secret (a string, or a list of strings while rotating)",
            ));
        }
        for (i, secret) in self.secret.iter().enumerate() {
            let key = at(&format!("secret[{i}]"));
            if secret.expose_secret().trim().is_empty() {
                problems.push(ConfigProblem::new(key, "is empty"));
            } else if matches!(scheme, Scheme::StandardWebhooks | Scheme::Svix) {
                if let Err(e) = decode_whsec(secret.expose_secret()) {
                    problems.push(ConfigProblem::new(key, e));
                }
            }
        }
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_MAX_BODY_BYTES {
            problems.push(ConfigProblem::new(
                at("max_body_bytes"),
                format!("must be between 1 and {MAX_MAX_BODY_BYTES}"),
            ));
        }
        if self.tolerance < Duration::from_secs(1) {
            problems.push(ConfigProblem::new(at("tolerance"), "must be at least 1s"));
        }
        if self.delivery_horizon < self.tolerance {
            problems.push(ConfigProblem::new(
                at("delivery_horizon"),
                "must be at least `tolerance`, or a replayed delivery could be accepted again",
            ));
        }
        self.validate_preset_keys(&at, problems);
        self.validate_scheme_keys(scheme, &at, problems);
        match (&self.mapping, self.preset.needs_mapping()) {
            (Some(mapping), true) => mapping.validate(&at("mapping"), problems),
            (None, true) => problems.push(ConfigProblem::new(
                at("mapping"),
                format!(
                    "required for preset {}: JSON Pointers for at least `id` and `title`",
                    self.preset.name()
                ),
            )),
            (Some(_), false) => problems.push(ConfigProblem::new(
                at("mapping"),
                format!(
                    "not used: preset {} has a fixed payload mapping",
                    self.preset.name()
                ),
            )),
            (None, false) => {}
        }
    }

    fn validate_preset_keys(&self, at: &dyn Fn(&str) -> String, problems: &mut Vec<ConfigProblem>) {
        let is = |p: Preset| self.preset == p;
        match (&self.storefront_url, is(Preset::Shopify)) {
            (None, true) => problems.push(ConfigProblem::new(
                at("storefront_url"),
                "required for preset shopify: the shop address Pins link to, e.g. \"https://shop.example.com\"",
            )),
            (Some(url), true) => check_http_url(url, &at("storefront_url"), problems),
            (Some(_), false) => problems.push(unused(at("storefront_url"), "preset shopify")),
            (None, false) => {}
        }
        if self.shop_domain.is_some() && !is(Preset::Shopify) {
            problems.push(unused(at("shop_domain"), "preset shopify"));
        }
        match (&self.site_url, is(Preset::Wordpress)) {
            (Some(url), true) => check_http_url(url, &at("site_url"), problems),
            (Some(_), false) => problems.push(unused(at("site_url"), "preset wordpress")),
            _ => {}
        }
    }

    fn validate_scheme_keys(
        &self,
        scheme: Scheme,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<ConfigProblem>,
    ) {
        if scheme == Scheme::Generic {
            if self
                .signature_header
                .as_deref()
                .is_none_or(|h| h.trim().is_empty())
            {
                problems.push(ConfigProblem::new(
                    at("signature_header"),
                    "required for scheme generic: the header that carries the MAC",
                ));
            }
            for (key, value) in [
                ("signature_header", &self.signature_header),
                ("timestamp_header", &self.timestamp_header),
                ("delivery_header", &self.delivery_header),
            ] {
                let bad = value.as_deref().is_some_and(|name| {
                    axum::http::HeaderName::from_bytes(name.trim().as_bytes()).is_err()
                });
                if bad {
                    problems.push(ConfigProblem::new(at(key), "is not a valid header name"));
                }
            }
            let needs_ts = self.signed == Some(Signed::TimestampBody);
            if needs_ts && self.timestamp_header.is_none() {
                problems.push(ConfigProblem::new(
                    at("timestamp_header"),
                    "required when signed = \"timestamp.body\"",
                ));
            }
            if !needs_ts && self.timestamp_header.is_some() {
                problems.push(unused(
                    at("timestamp_header"),
                    "signed = \"timestamp.body\"",
                ));
            }
        } else {
            let generic_keys = [
                ("signature_header", self.signature_header.is_some()),
                ("algorithm", self.algorithm.is_some()),
                ("encoding", self.encoding.is_some()),
                ("prefix", self.prefix.is_some()),
                ("signed", self.signed.is_some()),
                ("timestamp_header", self.timestamp_header.is_some()),
                ("delivery_header", self.delivery_header.is_some()),
            ];
            for (key, set) in generic_keys {
                if set {
                    problems.push(unused(at(key), "scheme generic"));
                }
            }
        }
    }
}

fn unused(path: String, only: &str) -> ConfigProblem {
    ConfigProblem::new(path, format!("only used with {only}"))
}

fn check_http_url(url: &str, path: &str, problems: &mut Vec<ConfigProblem>) {
    match url::Url::parse(url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(_) => problems.push(ConfigProblem::new(
            path,
            "must be an http(s) URL with a host",
        )),
        Err(e) => problems.push(ConfigProblem::new(path, format!("is not a URL: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_section;

    fn parse(text: &str) -> (Option<WebhookSettings>, Vec<String>) {
        let table: toml::Table = toml::from_str(text).expect("test TOML");
        let mut problems = Vec::new();
        let settings: Option<WebhookSettings> = parse_section(table, "sources[0]", &mut problems);
        if let Some(s) = &settings {
            s.validate("sources[0]", &mut problems);
        }
        (settings, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn a_shopify_source_with_rotation_parses_with_defaults() {
        let (s, problems) = parse(
            r#"preset = "shopify"
               secret = ["new", "old"]
               storefront_url = "https://shop.example.com""#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let s = s.unwrap();
        assert_eq!(s.secret.len(), 2);
        assert_eq!(s.max_body_bytes, 1024 * 1024);
        assert_eq!(s.tolerance, Duration::from_secs(300));
        assert_eq!(s.delivery_horizon, Duration::from_secs(7 * 86400));
        assert_eq!(s.effective_scheme(), Scheme::Shopify);
    }

    #[test]
    fn missing_secret_and_storefront_are_named() {
        let (_, problems) = parse(r#"preset = "shopify""#);
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("sources[0].secret: required"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("sources[0].storefront_url: required"))
        );
    }

    #[test]
    fn unknown_preset_is_a_problem_not_a_panic() {
        let (s, problems) = parse(
            r#"preset = "shopfy"
                                    secret = "x""#,
        );
        assert!(s.is_none());
        assert!(problems[0].contains("shopfy"), "{problems:?}");
    }

    #[test]
    fn standard_webhooks_secrets_must_be_base64_keys() {
        let (_, problems) = parse(
            r#"preset = "svix"
               secret = ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_not*base64"]
               mapping = { id = "/id", title = "/title" }"#,
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("sources[0].secret[1]:"),
            "{problems:?}"
        );
        assert!(
            !problems[0].contains("not*base64"),
            "secret echoed: {problems:?}"
        );
    }

    #[test]
    fn generic_needs_a_header_and_a_valid_mapping() {
        let (_, problems) = parse(
            r#"preset = "generic"
               secret = "s"
               signed = "timestamp.body"
               mapping = { id = "id", title = "/title" }"#,
        );
        let joined = problems.join("\n");
        assert!(
            joined.contains("sources[0].signature_header: required"),
            "{joined}"
        );
        assert!(
            joined.contains("sources[0].timestamp_header: required"),
            "{joined}"
        );
        assert!(joined.contains("sources[0].mapping.id:"), "{joined}");
    }

    #[test]
    fn keys_of_other_presets_are_reported() {
        let (_, problems) = parse(
            r#"preset = "ghost"
               secret = "s"
               storefront_url = "https://x.example"
               prefix = "sha256=""#,
        );
        let joined = problems.join("\n");
        assert!(
            joined.contains("storefront_url: only used with preset shopify"),
            "{joined}"
        );
        assert!(
            joined.contains("prefix: only used with scheme generic"),
            "{joined}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_durations_are_reported() {
        let (_, problems) = parse(
            r#"preset = "ghost"
               secret = "s"
               secert = "typo""#,
        );
        assert!(
            problems
                .iter()
                .any(|p| p == "sources[0].secert: unknown key"),
            "{problems:?}"
        );
        let (_, problems) = parse(
            r#"preset = "ghost"
               secret = "s"
               tolerance = "soon""#,
        );
        assert!(
            problems.iter().any(|p| p.contains("not a duration")),
            "{problems:?}"
        );
    }
}
