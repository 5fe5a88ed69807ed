//! The `[pinterest]` settings: where the API is, the app's credentials, and HTTP timeouts; plus
//! the `reqwest::Client` and token URL built from them.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use super::oauth::Credentials;
use crate::config::ConfigProblem;

/// `[pinterest]`: `api_base`, `client_id`, `client_secret`, `timeout`, `connect_timeout`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct PinterestSettings {
    /// The versioned API root: `https://api.pinterest.com/v5/`, the official sandbox
    /// `https://api-sandbox.pinterest.com/v5/`, or a local `pinbridge sandbox`.
    pub api_base: Url,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Whole-request limit; a create that times out is reconciled, not blindly repeated.
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
    #[serde(with = "crate::config::duration")]
    pub connect_timeout: Duration,
}

impl Default for PinterestSettings {
    fn default() -> Self {
        Self {
            api_base: Url::parse("https://api.pinterest.com/v5/").expect("static URL"),
            client_id: None,
            client_secret: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl PinterestSettings {
    pub fn validate(&self, path: &str, problems: &mut Vec<ConfigProblem>) {
        let key = |k: &str| {
            if path.is_empty() {
                k.to_string()
            } else {
                format!("{path}.{k}")
            }
        };
        if !matches!(self.api_base.scheme(), "http" | "https") || !self.api_base.has_host() {
            problems.push(ConfigProblem::new(
                key("api_base"),
                format!(
                    "`{}` is not an http(s) URL; use e.g. \"https://api.pinterest.com/v5/\"",
                    self.api_base
                ),
            ));
        }
        match (&self.client_id, &self.client_secret) {
            (Some(_), None) => problems.push(ConfigProblem::new(
                key("client_secret"),
                "client_id is set but client_secret is not; both are needed to refresh tokens",
            )),
            (None, Some(_)) => problems.push(ConfigProblem::new(
                key("client_id"),
                "client_secret is set but client_id is not; both are needed to refresh tokens",
            )),
            _ => {}
        }
        if let Some(id) = &self.client_id {
            if id.trim().is_empty() {
                problems.push(ConfigProblem::new(key("client_id"), "must not be empty"));
            }
        }
        for (k, d) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if d.is_zero() {
                problems.push(ConfigProblem::new(
                    key(k),
                    "must be longer than zero, e.g. \"30s\"",
                ));
            }
        }
    }

    /// `api_base` with a final `/`, so relative joins stay under `/v5/`.
    pub fn api_base(&self) -> Url {
        let mut base = self.api_base.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        base
    }

    /// `{api_base}oauth/token`.
    pub fn token_url(&self) -> Url {
        self.api_base()
            .join("oauth/token")
            .unwrap_or_else(|_| self.api_base())
    }

    pub fn credentials(&self) -> Option<Credentials> {
        Some(Credentials {
            client_id: self.client_id.clone()?,
            client_secret: self.client_secret.clone()?,
        })
    }

    /// An HTTP client with these timeouts (share one per process).
    pub fn http_client(&self) -> Result<reqwest::Client, reqwest::Error> {
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("pinbridge/", env!("CARGO_PKG_VERSION")))
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (Option<PinterestSettings>, Vec<ConfigProblem>) {
        let mut problems = Vec::new();
        let table: toml::Table = toml::from_str(text).unwrap();
        let s: Option<PinterestSettings> =
            crate::config::parse_section(table, "pinterest", &mut problems);
        if let Some(s) = &s {
            s.validate("pinterest", &mut problems);
        }
        (s, problems)
    }

    #[test]
    fn defaults_and_derived_urls() {
        let (s, problems) = parse("api_base = \"http://127.0.0.1:9000/v5\"\ntimeout = \"5s\"");
        assert!(problems.is_empty(), "{problems:?}");
        let s = s.unwrap();
        assert_eq!(
            s.token_url().as_str(),
            "http://127.0.0.1:9000/v5/oauth/token"
        );
        assert_eq!(s.timeout, Duration::from_secs(5));
        assert!(s.credentials().is_none());
    }

    #[test]
    fn half_credentials_and_bad_urls_are_reported() {
        let (_, problems) = parse("api_base = \"ftp://x/v5/\"\nclient_id = \"123\"");
        let text: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert!(
            text.iter().any(|p| p.starts_with("pinterest.api_base:")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.starts_with("pinterest.client_secret:")),
            "{text:?}"
        );
    }
}
