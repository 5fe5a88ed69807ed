//! How a webhook request ends: the success answer and every rejection, with its status code.
//!
//! Bodies are small JSON objects. Rejections name the check or field that failed and never
//! carry a secret, a computed MAC, or the request body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::verify::VerifyError;

/// Seconds a sender is asked to wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 30;

/// A successful answer (always 200: some senders, WooCommerce's ping among them, want exactly 200).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// `accepted`, `duplicate`, `skipped` or `removed`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Answer {
    pub fn accepted() -> Self {
        Self {
            status: "accepted",
            reason: None,
        }
    }
    pub fn duplicate() -> Self {
        Self {
            status: "duplicate",
            reason: None,
        }
    }
    /// The resource was deleted or unpublished at the sender (`reason`: which signal).
    pub fn removed(reason: impl Into<String>) -> Self {
        Self {
            status: "removed",
            reason: Some(reason.into()),
        }
    }

    pub fn skipped(reason: impl Into<String>) -> Self {
        Self {
            status: "skipped",
            reason: Some(reason.into()),
        }
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (StatusCode::OK, Json(self)).into_response()
    }
}

/// Why a request was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("unknown webhook source {0:?}")]
    UnknownSource(String),
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error(transparent)]
    Unauthorized(#[from] VerifyError),
    /// The payload (or a header it needs) could not be read; the text names what and where.
    #[error("{0}")]
    BadRequest(String),
    /// Not the sender's fault (store error, failed lookup): it should retry later.
    #[error("{0}")]
    Unavailable(String),
}

impl Rejection {
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnknownSource(_) => StatusCode::NOT_FOUND,
            Rejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::BadRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// A short label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Rejection::UnknownSource(_) => "unknown_source",
            Rejection::TooLarge { .. } => "too_large",
            Rejection::Unauthorized(_) => "unauthorized",
            Rejection::BadRequest(_) => "bad_request",
            Rejection::Unavailable(_) => "unavailable",
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(ErrorBody {
                error: self.to_string(),
            }),
        )
            .into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}
