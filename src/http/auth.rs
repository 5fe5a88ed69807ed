//! Who is asking: an API client with the admin token (`Authorization: Bearer …`), a browser
//! with a status-page session (cookie), or nobody; and whether a browser's state-changing
//! request comes from pinbridge's own pages (the Origin check).
//!
//! Empty values count as absent everywhere: an empty bearer token or cookie never signs in.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpState;
use super::admin::ApiError;

/// The status page's session cookie.
pub const SESSION_COOKIE: &str = "pinbridge_session";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Presented the admin token.
    Token,
    /// Holds a live status-page session.
    Session,
    Anonymous,
}

/// The bearer token of `Authorization`, when there is a non-empty one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The first non-empty value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value)
        .next()
}

pub fn caller(state: &HttpState, headers: &HeaderMap) -> Caller {
    let Some(admin) = &state.admin else {
        return Caller::Anonymous;
    };
    if bearer(headers).is_some_and(|token| admin.matches(token)) {
        return Caller::Token;
    }
    if cookie(headers, SESSION_COOKIE).is_some_and(|id| state.sessions.valid(id)) {
        return Caller::Session;
    }
    Caller::Anonymous
}

/// Methods that change something: a browser session may send them only from pinbridge's own
/// pages.
pub fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` is this server: the origin of `server.public_url`, or the
/// scheme of the Origin with the request's own `Host`. A missing or opaque (`null`) Origin is
/// not this server; browsers send Origin on every POST, PUT and DELETE.
pub fn same_origin(state: &HttpState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| url::Url::parse(v).ok())
    else {
        return false;
    };
    if !matches!(origin.scheme(), "http" | "https") {
        return false;
    }
    if let Some(public) = &state.public_url
        && public.origin() == origin.origin()
    {
        return true;
    }
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .and_then(|host| url::Url::parse(&format!("{}://{host}", origin.scheme())).ok())
        .is_some_and(|own| own.origin() == origin.origin())
}

/// The gate in front of the admin API and the private pages: the admin token, or a session
/// whose state-changing requests come from this server's own pages. 403 when no admin token
/// is configured, 401 (same answer for missing and wrong) otherwise.
pub async fn require_admin(
    State(state): State<HttpState>,
    request: Request,
    next: Next,
) -> Response {
    if state.admin.is_none() {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "the admin API is off: set server.admin_token",
        )
        .into_response();
    }
    match caller(&state, request.headers()) {
        Caller::Token => next.run(request).await,
        Caller::Session
            if !changes_state(request.method()) || same_origin(&state, request.headers()) =>
        {
            next.run(request).await
        }
        Caller::Session => ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-origin request refused: a signed-in browser may change things only from pinbridge's own pages (or use Authorization: Bearer)",
        )
        .into_response(),
        Caller::Anonymous => {
            let mut answer = ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong admin token")
                .into_response();
            answer.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"pinbridge\""),
            );
            answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn empty_bearer_tokens_and_cookies_are_absent() {
        assert_eq!(bearer(&headers(&[("authorization", "Bearer ")])), None);
        assert_eq!(
            bearer(&headers(&[("authorization", "Bearer x")])),
            Some("x")
        );
        let jar = headers(&[("cookie", "pinbridge_session=; other=1")]);
        assert_eq!(cookie(&jar, SESSION_COOKIE), None);
        let jar = headers(&[("cookie", "a=1; pinbridge_session=abc")]);
        assert_eq!(cookie(&jar, SESSION_COOKIE), Some("abc"));
    }

    #[test]
    fn only_this_servers_origin_is_same_origin() {
        let dir = tempfile::tempdir().unwrap();
        let store: std::sync::Arc<dyn crate::store::Store> = std::sync::Arc::new(
            crate::store::sled::SledStore::open(
                &dir.path().join("db"),
                crate::store::sled::SledOptions::default(),
                None,
            )
            .unwrap(),
        );
        let clock: crate::clock::SharedClock = std::sync::Arc::new(crate::clock::SystemClock);
        let mut state = HttpState::new(store, clock);
        let own = [("host", "127.0.0.1:8080")];
        assert!(same_origin(
            &state,
            &headers(&[own[0], ("origin", "http://127.0.0.1:8080")])
        ));
        assert!(!same_origin(
            &state,
            &headers(&[own[0], ("origin", "http://evil.example")])
        ));
        assert!(!same_origin(
            &state,
            &headers(&[own[0], ("origin", "null")])
        ));
        assert!(!same_origin(&state, &headers(&own)));
        state.public_url = Some("https://pins.example.com/".parse().unwrap());
        assert!(same_origin(
            &state,
            &headers(&[
                ("host", "10.0.0.9:8080"),
                ("origin", "https://pins.example.com")
            ])
        ));
    }
}
