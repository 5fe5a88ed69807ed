//! Typed settings of a `kind = "webhook"` source, and their validation.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::mapping::MappingSettings;
// The provider and scheme enums live in a leaf with the `whsec_` key decoding: the verifiers
// read these settings and validating them needs that decoding, so neither imports the other.
pub use super::scheme::{Algorithm, Encoding, Preset, Scheme, Signed};
use crate::settings::{duration, one_or_many};

#[cfg(test)]
mod tests;
mod validate;

pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
pub(crate) const MAX_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

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
    /// WordPress: let the featured-image lookup reach loopback and private addresses (a site on
    /// the same host or network). Off by default: the lookup URL comes from the payload.
    #[serde(default)]
    pub allow_private: bool,
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
            allow_private: false,
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
}
