//! What the runtime-configuration handlers share: the live configuration (or 501 without it),
//! the rule that only API-made entries change through the API, and a request body checked into
//! a record.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ApiError;
use crate::http::HttpState;
use crate::live::Live;
use crate::live::effective::Origin;
use crate::settings::ConfigProblem;
use crate::store::{ConfigRecord, ConfigRecordKind};

/// The live configuration, or 501 in a process that runs without one.
pub(super) fn live(state: &HttpState) -> Result<Arc<Live>, ApiError> {
    state.live.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "runtime configuration is not available in this process",
        )
    })
}

/// Only entries made through the API are changed through it: 404 for an unknown one, 409 for
/// one the config file defines.
pub(super) fn api_owned(origin: Option<Origin>, what: &str, id: &str) -> Result<(), ApiError> {
    match origin {
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no {what} `{id}`"),
        )),
        Some(Origin::File) => Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{what} `{id}` is defined in the config file; edit the file"),
        )),
        Some(Origin::Api) => Ok(()),
    }
}

/// The body as a record: an object whose `id` (or `name`) is a string.
pub(super) fn record_of(
    kind: ConfigRecordKind,
    mut body: Value,
    path_id: Option<&str>,
) -> Result<ConfigRecord, ApiError> {
    let (key, section) = match kind {
        ConfigRecordKind::Route => ("name", "routes"),
        _ => ("id", "sources"),
    };
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "the body must be a JSON object",
        ));
    };
    if let (Some(expected), None) = (path_id, object.get(key)) {
        object.insert(key.into(), json!(expected));
    }
    let id = match object.get(key) {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            let message = match kind {
                ConfigRecordKind::Route => "a route made through the API needs a `name` (a string)",
                _ => "`id` is missing or not a string",
            };
            return Err(ApiError::invalid(
                StatusCode::BAD_REQUEST,
                "the entry is not valid",
                &[ConfigProblem::new(format!("{section}[?].{key}"), message)],
            ));
        }
    };
    if let Some(expected) = path_id
        && expected != id
    {
        return Err(ApiError::invalid(
            StatusCode::BAD_REQUEST,
            "the entry is not valid",
            &[ConfigProblem::new(
                format!("{section}[{expected}].{key}"),
                format!("the body says `{id}` but the URL says `{expected}`"),
            )],
        ));
    }
    Ok(ConfigRecord {
        kind,
        id,
        body: body.to_string(),
    })
}
