//! Validation of webhook settings: every problem named by its key path.

use secrecy::ExposeSecret;
use std::time::Duration;

use super::{MAX_MAX_BODY_BYTES, Preset, Scheme, Signed, WebhookSettings};
use crate::settings::{ConfigProblem, join};
use crate::sources::webhook::scheme::decode_whsec;

impl WebhookSettings {
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
            } else if matches!(scheme, Scheme::StandardWebhooks | Scheme::Svix)
                && let Err(e) = decode_whsec(secret.expose_secret())
            {
                problems.push(ConfigProblem::new(key, e));
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
