//! The admin API's error answer: `{"error": "..."}` with a status, and the further fields a
//! refusal explains itself with (the config problems, a count of unfinished jobs).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::answers::{ErrorBody, Problem};
use crate::live::ChangeError;
use crate::settings::ConfigProblem;

/// An error answer: an [`ErrorBody`] with a status.
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: message.into(),
                ..ErrorBody::default()
            },
        }
    }

    /// The sentence the answer carries.
    pub fn message(&self) -> &str {
        &self.body.error
    }

    /// A refused configuration change: the message and every problem found.
    pub fn invalid(status: StatusCode, message: &str, problems: &[ConfigProblem]) -> Self {
        let mut error = Self::new(status, message);
        error.body.problems = Some(Problem::all(problems));
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
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
