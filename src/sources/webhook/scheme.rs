//! Which provider a webhook source receives from ([`Preset`]), how its deliveries are signed
//! ([`Scheme`] and the generic scheme's knobs), and how a `whsec_` key decodes. A leaf: the
//! settings, their validation and the verifiers all read it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

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

/// Decode a `whsec_…` secret. The error never contains the secret.
pub fn decode_whsec(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.trim();
    let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
    match STANDARD.decode(encoded) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        Ok(_) => Err("is empty after `whsec_`".into()),
        Err(_) => {
            Err("is not a Standard Webhooks key: expected `whsec_` followed by base64".into())
        }
    }
}
