//! What can go wrong talking to the API, sorted the way the sync engine must react to it, and
//! how a non-2xx answer (`{code, message, message_detail}`, `Retry-After`) becomes one.

use std::time::Duration;

use reqwest::StatusCode;

use super::auth_error::AuthError;
use super::model::ErrorBody;

/// An API call that did not give the expected answer. Display is readable, names the status and
/// the request id (`x-pinterest-rid`, for support tickets) and never includes a token.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401 even after one token refresh and one repeat.
    #[error("Pinterest refused the access token (401): {message}{}", rid(.request_id))]
    Unauthorized {
        message: String,
        request_id: Option<String>,
    },
    /// 403: the token lacks a scope, or the account may not do this.
    #[error("Pinterest forbade the request (403{}): {message}{}", fmt_code(.code), rid(.request_id))]
    Forbidden {
        code: Option<i64>,
        message: String,
        request_id: Option<String>,
    },
    /// 404: board, section or Pin not found (code 40 board, 2031 section).
    #[error("Pinterest found no such object (404{}): {message}{}", fmt_code(.code), rid(.request_id))]
    NotFound {
        code: Option<i64>,
        message: String,
        request_id: Option<String>,
    },
    /// 429: over a rate limit, or blocked as spam (`spam`); wait `retry_after` when given.
    #[error("Pinterest rate-limited the request (429{}){}: {message}{}",
        match .retry_after { Some(d) => format!(", retry after {}s", d.as_secs()), None => String::new() },
        if *.spam { ", spam block" } else { "" }, rid(.request_id))]
    RateLimited {
        retry_after: Option<Duration>,
        spam: bool,
        message: String,
        request_id: Option<String>,
    },
    /// Any other 4xx (400 invalid field, 409, …): repeating the same request will not help.
    #[error("Pinterest rejected the request ({status}{}): {message}{}", fmt_code(.code), rid(.request_id))]
    Rejected {
        status: u16,
        code: Option<i64>,
        message: String,
        request_id: Option<String>,
    },
    /// 5xx.
    #[error("Pinterest failed with a server error ({status}): {message}{}", rid(.request_id))]
    Server {
        status: u16,
        message: String,
        request_id: Option<String>,
    },
    /// No complete HTTP answer. `maybe_sent` is false only when the connection was never made.
    #[error("could not reach Pinterest ({}): {message}",
        if *.maybe_sent { "the request may have been sent" } else { "nothing was sent" })]
    Transport { message: String, maybe_sent: bool },
    /// A 2xx whose body is not what the spec describes (the request did succeed).
    #[error("Pinterest sent an answer pinbridge cannot read: {message}{}", rid(.request_id))]
    Decode {
        message: String,
        request_id: Option<String>,
    },
    /// No usable access token: refresh failed or is impossible.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

fn rid(request_id: &Option<String>) -> String {
    match request_id {
        Some(r) => format!(" (request id {r})"),
        None => String::new(),
    }
}

fn fmt_code(code: &Option<i64>) -> String {
    match code {
        Some(c) => format!(", code {c}"),
        None => String::new(),
    }
}

impl ApiError {
    /// The `x-pinterest-rid` of the answer, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Unauthorized { request_id, .. }
            | ApiError::Forbidden { request_id, .. }
            | ApiError::NotFound { request_id, .. }
            | ApiError::RateLimited { request_id, .. }
            | ApiError::Rejected { request_id, .. }
            | ApiError::Server { request_id, .. }
            | ApiError::Decode { request_id, .. } => request_id.as_deref(),
            ApiError::Transport { .. } | ApiError::Auth(_) => None,
        }
    }

    /// 429, 5xx, transport (and a token endpoint that was unreachable or failing): worth
    /// retrying later. Everything else needs a change first (config, token, content).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::RateLimited { .. } | ApiError::Server { .. } | ApiError::Transport { .. } => {
                true
            }
            ApiError::Auth(e) => e.is_transient(),
            _ => false,
        }
    }

    /// Whether an answer to `PATCH /pins/{id}` says the app may not use that operation.
    /// Pinterest documents it as "in beta and not available to all apps" without saying how
    /// it refuses; pinbridge reads any 403 to an update as that refusal (a missing scope is a
    /// 403 too, and needs the same reaction: fall back to the route's policy), while a 404 is
    /// a Pin that is gone and anything else is judged like any other write.
    pub fn update_unavailable(&self) -> bool {
        matches!(self, ApiError::Forbidden { .. })
    }

    /// The request may have been applied (timeout/reset after send, 5xx, or a 2xx whose body could
    /// not be read): for a write, look for its effect before repeating it.
    pub fn maybe_applied(&self) -> bool {
        match self {
            ApiError::Transport { maybe_sent, .. } => *maybe_sent,
            ApiError::Server { .. } | ApiError::Decode { .. } => true,
            _ => false,
        }
    }
}

/// An error and its causes on one line (reqwest's own Display stops at the top level).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Map a non-2xx answer to its error, reading `{code, message, message_detail}` when present.
pub(crate) fn error_from(
    status: StatusCode,
    body: &[u8],
    request_id: Option<String>,
    retry_after: Option<Duration>,
) -> ApiError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let reason = status.canonical_reason().unwrap_or("error");
    let mut message = match &parsed.message {
        Some(m) if !m.is_empty() => m.clone(),
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            if text.is_empty() {
                reason.to_string()
            } else {
                text
            }
        }
    };
    if let Some(detail) = parsed.message_detail.as_deref().filter(|d| !d.is_empty()) {
        message = format!("{message} ({detail})");
    }
    let code = parsed.code;
    let status_u16 = status.as_u16();
    match status_u16 {
        401 => ApiError::Unauthorized {
            message,
            request_id,
        },
        403 => ApiError::Forbidden {
            code,
            message,
            request_id,
        },
        404 => ApiError::NotFound {
            code,
            message,
            request_id,
        },
        429 => ApiError::RateLimited {
            retry_after,
            spam: message.to_lowercase().contains("spam"),
            message,
            request_id,
        },
        500..=599 => ApiError::Server {
            status: status_u16,
            message,
            request_id,
        },
        _ => ApiError::Rejected {
            status: status_u16,
            code,
            message,
            request_id,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_status_code_and_request_id() {
        let e = ApiError::Rejected {
            status: 400,
            code: Some(1),
            message: "title is too long".into(),
            request_id: Some("abc".into()),
        };
        assert_eq!(
            e.to_string(),
            "Pinterest rejected the request (400, code 1): title is too long (request id abc)"
        );
        let e = ApiError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            spam: true,
            message: "spam".into(),
            request_id: None,
        };
        assert_eq!(
            e.to_string(),
            "Pinterest rate-limited the request (429, retry after 30s), spam block: spam"
        );
    }

    #[test]
    fn classification() {
        let server = ApiError::Server {
            status: 503,
            message: String::new(),
            request_id: None,
        };
        assert!(server.is_transient() && server.maybe_applied());
        let refused = ApiError::Transport {
            message: String::new(),
            maybe_sent: false,
        };
        assert!(refused.is_transient() && !refused.maybe_applied());
        let nf = ApiError::NotFound {
            code: Some(40),
            message: String::new(),
            request_id: None,
        };
        assert!(!nf.is_transient() && !nf.maybe_applied());
    }

    #[test]
    fn errors_are_sorted_by_status() {
        let body = br#"{"code":8,"message":"Too many","message_detail":"blocked as spam"}"#;
        match error_from(StatusCode::TOO_MANY_REQUESTS, body, Some("r1".into()), None) {
            ApiError::RateLimited { spam, message, .. } => {
                assert!(spam);
                assert_eq!(message, "Too many (blocked as spam)");
            }
            other => panic!("unexpected {other:?}"),
        }
        let e = error_from(
            StatusCode::BAD_GATEWAY,
            b"<html>bad gateway</html>",
            None,
            None,
        );
        assert!(
            matches!(e, ApiError::Server { status: 502, ref message, .. } if message.contains("bad gateway"))
        );
        let e = error_from(StatusCode::CONFLICT, b"", None, None);
        assert!(
            matches!(e, ApiError::Rejected { status: 409, ref message, .. } if message == "Conflict")
        );
    }
}
