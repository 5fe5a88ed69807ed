//! A small client for the admin API (`/api/v1`), for commands that change a running service:
//! the service owns the store (sled allows one process), so they ask it.

use std::net::SocketAddr;

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Why an admin API call failed, readable as it stands.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "cannot reach pinbridge at {url} ({cause}); is `pinbridge serve` running there? (--server)"
    )]
    Unreachable { url: String, cause: String },
    #[error(
        "pinbridge at {url} refused the admin token (401); use the `server.admin_token` it runs with"
    )]
    Unauthorized { url: String },
    #[error("{message}")]
    Refused {
        status: StatusCode,
        message: String,
        /// `problems[]` of the answer, as `key: message` lines.
        problems: Vec<String>,
        /// The whole answer, for callers that look at more fields.
        answer: Value,
    },
    #[error("pinbridge answered {url} with something unreadable: {cause}")]
    Unreadable { url: String, cause: String },
}

/// The admin API of one running pinbridge.
pub struct AdminClient {
    base: url::Url,
    token: SecretString,
    http: reqwest::Client,
}

impl AdminClient {
    pub fn new(base: url::Url, token: SecretString) -> AdminClient {
        AdminClient {
            base,
            token,
            http: reqwest::Client::new(),
        }
    }

    /// The address a local `serve` listens on: its `server.listen`, with an unspecified
    /// address (0.0.0.0, ::) replaced by loopback.
    pub fn local_base(listen: SocketAddr) -> url::Url {
        let host = match listen.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_string(),
            ip if ip.is_unspecified() => "[::1]".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        url::Url::parse(&format!("http://{host}:{}/", listen.port()))
            .expect("an address and port make a valid URL")
    }

    pub async fn get(&self, path: &str) -> Result<Value, ApiError> {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A GET whose answer is read as `T` (one of the admin API's answer types).
    pub async fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let value = self.get(path).await?;
        typed(path, value)
    }

    /// A POST with no body whose answer is read as `T`.
    pub async fn post_as<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        let value = self.call(Method::POST, path, None).await?;
        typed(path, value)
    }

    pub async fn delete(&self, path: &str) -> Result<Value, ApiError> {
        self.call(Method::DELETE, path, None).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url =
            self.base
                .join(path.trim_start_matches('/'))
                .map_err(|e| ApiError::Unreadable {
                    url: path.to_string(),
                    cause: e.to_string(),
                })?;
        let shown = url.to_string();
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(self.token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| ApiError::Unreachable {
            url: self.base.to_string(),
            cause: root_cause(&e),
        })?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(ApiError::Unauthorized {
                url: self.base.to_string(),
            });
        }
        let text = response.text().await.map_err(|e| ApiError::Unreadable {
            url: shown.clone(),
            cause: root_cause(&e),
        })?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| ApiError::Unreadable {
                url: shown.clone(),
                cause: format!("{e} (status {status})"),
            })?
        };
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("pinbridge answered {status} to {shown}"));
        let problems = value
            .get("problems")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|p| {
                        match (
                            p.get("key").and_then(Value::as_str),
                            p.get("message").and_then(Value::as_str),
                        ) {
                            (Some(key), Some(message)) => format!("{key}: {message}"),
                            _ => p.to_string(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Err(ApiError::Refused {
            status,
            message,
            problems,
            answer: value,
        })
    }
}

fn typed<T: serde::de::DeserializeOwned>(path: &str, value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|e| ApiError::Unreadable {
        url: path.to_string(),
        cause: e.to_string(),
    })
}

/// The innermost error's text (reqwest's own is "error sending request").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
