//! The admin API's error answer: `{"error": "..."}` with a status, and any further fields a
//! refusal explains itself with (the config problems, a count of unfinished jobs).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::live::ChangeError;
use crate::live::status::problems_json;
use crate::settings::ConfigProblem;

/// An error answer: `{"error": "..."}` with a status.
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Fields beside `error` in the body, in the order they were added.
    details: Map<String, Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Map::new(),
        }
    }

    /// The same answer with one more field in its body.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.details.insert(key.to_string(), value);
        self
    }

    /// A refused configuration change: the message and every problem found.
    pub fn invalid(status: StatusCode, message: &str, problems: &[ConfigProblem]) -> Self {
        Self::new(status, message).with("problems", problems_json(problems))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), Value::String(self.message));
        body.extend(self.details);
        (self.status, axum::Json(Value::Object(body))).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, e.to_string())
            }
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
        }
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Invalid(problems) => ApiError::invalid(
                StatusCode::BAD_REQUEST,
                "the configuration would not be valid",
                &problems,
            ),
            ChangeError::Store(e) => ApiError::from(e),
        }
    }
}
