//! Input checks the way the API does them (limits from the spec, see `model::limits`), the error
//! answers (`{code, message}`), and opaque bookmark pagination.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::pinterest::model::limits;

/// An error answer: `{code, message}` with a status, optionally `Retry-After`.
#[derive(Debug)]
pub(crate) struct SbError {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
    pub retry_after: Option<u64>,
    /// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (seconds), when sent.
    pub rate_limit: Option<[u64; 3]>,
}

impl SbError {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            rate_limit: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 1, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 2, "Authentication failed.")
    }
    pub fn board_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 40, "Board not found.")
    }
    pub fn section_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            2031,
            "Sorry! We couldn't find this board section.",
        )
    }
    pub fn pin_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, 50, "Pin not found.")
    }
    pub fn rate_limited(retry_after: u64, spam: bool) -> Self {
        let message = if spam {
            "Your request was blocked because it looks like spam. You've hit a block we have in place to combat spam."
        } else {
            "This request exceeded a rate limit. This can happen if the client exceeds one of the published rate limits or if multiple write operations are applied to an object within a short time window."
        };
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, 8, message)
        }
    }
}

impl IntoResponse for SbError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(json!({"code": self.code, "message": self.message})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from(secs));
        }
        if let Some([limit, remaining, reset]) = self.rate_limit {
            let h = resp.headers_mut();
            h.insert("x-ratelimit-limit", HeaderValue::from(limit));
            h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
            h.insert("x-ratelimit-reset", HeaderValue::from(reset));
        }
        resp
    }
}

pub(crate) fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

pub(crate) fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// The body as a JSON object, or a 400 that says why not.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, SbError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SbError::bad_request(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(SbError::bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// An optional (nullable) string field of at most `max_chars` characters.
pub(crate) fn opt_text(
    obj: &Map<String, Value>,
    field: &str,
    max_chars: usize,
) -> Result<Option<String>, SbError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n > max_chars {
                Err(SbError::bad_request(format!(
                    "Invalid parameter: {field} is {n} characters long; the limit is {max_chars}."
                )))
            } else {
                Ok(Some(s.clone()))
            }
        }
        Some(_) => Err(SbError::bad_request(format!(
            "Invalid parameter: {field} must be a string."
        ))),
    }
}

/// An optional (nullable) numeric-string id field.
pub(crate) fn opt_id(obj: &Map<String, Value>, field: &str) -> Result<Option<String>, SbError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if is_numeric_id(s) => Ok(Some(s.clone())),
        Some(_) => Err(SbError::bad_request(format!(
            "Invalid parameter: {field} must be a string of digits."
        ))),
    }
}

/// Which list a bookmark belongs to, so one list's bookmark is refused by another.
#[derive(Clone, Copy)]
pub(crate) enum ListKind {
    Boards,
    Sections,
    Pins,
}

impl ListKind {
    fn tag(self) -> &'static str {
        match self {
            ListKind::Boards => "b",
            ListKind::Sections => "s",
            ListKind::Pins => "p",
        }
    }
}

/// `page_size` (1..=250, default 25) and the decoded `bookmark` (the id of the last item seen).
pub(crate) fn page_params(
    query: &HashMap<String, String>,
    kind: ListKind,
) -> Result<(usize, Option<u64>), SbError> {
    let page_size = match query.get("page_size") {
        None => limits::PAGE_SIZE_DEFAULT,
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (limits::PAGE_SIZE_MIN..=limits::PAGE_SIZE_MAX).contains(&n) => n,
            _ => {
                return Err(SbError::bad_request(format!(
                    "Invalid parameter: page_size must be an integer from {} to {}, not `{raw}`.",
                    limits::PAGE_SIZE_MIN,
                    limits::PAGE_SIZE_MAX
                )));
            }
        },
    };
    let after = match query.get("bookmark").filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => Some(decode_bookmark(b, kind).ok_or_else(|| {
            SbError::bad_request("Invalid parameter: bookmark is not a bookmark from this list.")
        })?),
    };
    Ok((page_size as usize, after))
}

pub(crate) fn bookmark(kind: ListKind, last_id: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{last_id}", kind.tag()))
}

fn decode_bookmark(b: &str, kind: ListKind) -> Option<u64> {
    let raw = URL_SAFE_NO_PAD.decode(b).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (tag, id) = text.split_once(':')?;
    (tag == kind.tag()).then_some(())?;
    id.parse().ok()
}

/// One page from `items` (already in list order) after the cursor; `ids` gives each item's id.
/// `newest_first` lists go towards smaller ids.
pub(crate) fn paginate<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> u64,
    after: Option<u64>,
    page_size: usize,
    newest_first: bool,
    kind: ListKind,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|t| match after {
            None => true,
            Some(a) if newest_first => id(t) < a,
            Some(a) => id(t) > a,
        })
        .collect();
    let more = rest.len() > page_size;
    rest.truncate(page_size);
    let next = if more {
        rest.last().map(|t| bookmark(kind, id(t)))
    } else {
        None
    };
    (rest, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookmarks_are_bound_to_their_list() {
        let b = bookmark(ListKind::Pins, 42);
        assert_eq!(decode_bookmark(&b, ListKind::Pins), Some(42));
        assert_eq!(decode_bookmark(&b, ListKind::Boards), None);
        assert_eq!(decode_bookmark("garbage!", ListKind::Pins), None);
    }

    #[test]
    fn page_size_bounds() {
        let q = |v: &str| HashMap::from([("page_size".to_string(), v.to_string())]);
        assert!(page_params(&q("250"), ListKind::Boards).is_ok());
        assert!(page_params(&q("251"), ListKind::Boards).is_err());
        assert!(page_params(&q("0"), ListKind::Boards).is_err());
        assert!(page_params(&q("x"), ListKind::Boards).is_err());
    }

    #[test]
    fn text_limits_count_characters_not_bytes() {
        let obj = json!({"title": "é".repeat(100)});
        let obj = obj.as_object().unwrap();
        assert!(opt_text(obj, "title", 100).is_ok());
        assert!(opt_text(obj, "title", 99).is_err());
    }
}
