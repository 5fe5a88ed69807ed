//! The one test feed server: a feed (fixture or string) on loopback with an optional ETag it
//! honours (304), a body and status the test can change while it runs, and a count of the
//! requests it saw. Also the bare "serve this router on 127.0.0.1:0" under it, which
//! tests with a hand-written router (hubs, slow peers, the sandbox) share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

/// Serve `router` on an ephemeral loopback port until the test process ends.
pub async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    addr
}

/// Serve `router` on an ephemeral loopback port until `shutdown` is cancelled; returns
/// `host:port`.
pub async fn serve_until(router: Router, shutdown: &CancellationToken) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let token = shutdown.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await;
    });
    addr.to_string()
}

/// A fixture from `tests/fixtures/feeds/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/feeds/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// An RSS 2.0 feed of `items` posts, each with a link, a guid and an image enclosure.
pub fn rss_posts(items: usize) -> String {
    let mut entries = String::new();
    for i in 0..items {
        entries.push_str(&format!(
            "<item><title>Post {i}</title><link>https://blog.example/p/{i}</link><guid>post-{i}</guid>\
             <enclosure url=\"https://blog.example/img/{i}.jpg\" type=\"image/jpeg\" length=\"1\"/></item>"
        ));
    }
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Blog</title>\
         <link>https://blog.example/</link><description>d</description>{entries}</channel></rss>"
    )
}

/// What the feed answers; every field can change while the server runs.
struct Answer {
    body: Vec<u8>,
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Send an ETag derived from the body and answer 304 to a matching If-None-Match.
    etag: bool,
}

struct Shared {
    answer: Mutex<Answer>,
    hits: AtomicUsize,
    not_modified: AtomicUsize,
}

/// A running feed server; the feed is at [`FeedServer::url`] (`/feed.xml`).
#[derive(Clone)]
pub struct FeedServer {
    pub url: String,
    /// `http://host:port`, for redirect and other paths.
    pub base: String,
    shared: Arc<Shared>,
}

/// How to start a [`FeedServer`].
pub struct FeedServerBuilder {
    answer: Answer,
    shutdown: Option<CancellationToken>,
}

impl FeedServer {
    /// An RSS feed with this body, status 200, no validators, no delay.
    pub fn builder(body: impl Into<Vec<u8>>) -> FeedServerBuilder {
        FeedServerBuilder {
            answer: Answer {
                body: body.into(),
                status: StatusCode::OK,
                headers: vec![(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/rss+xml"),
                )],
                etag: false,
            },
            shutdown: None,
        }
    }

    /// Requests for the feed.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Requests answered 304 Not Modified.
    pub fn not_modified(&self) -> usize {
        self.shared.not_modified.load(Ordering::SeqCst)
    }

    pub fn set_body(&self, body: impl Into<Vec<u8>>) {
        self.shared.answer.lock().unwrap().body = body.into();
    }

    /// Append to the body (a changed body with the same items: a new ETag).
    pub fn push_body(&self, more: &str) {
        self.shared
            .answer
            .lock()
            .unwrap()
            .body
            .extend_from_slice(more.as_bytes());
    }

    pub fn set_status(&self, status: u16) {
        self.shared.answer.lock().unwrap().status = StatusCode::from_u16(status).unwrap();
    }
}

impl FeedServerBuilder {
    pub fn content_type(mut self, value: &'static str) -> Self {
        self.answer.headers[0].1 = HeaderValue::from_static(value);
        self
    }

    pub fn status(mut self, status: u16) -> Self {
        self.answer.status = StatusCode::from_u16(status).unwrap();
        self
    }

    /// Send an ETag derived from the body and honour If-None-Match.
    pub fn etag(mut self) -> Self {
        self.answer.etag = true;
        self
    }

    /// Stop serving when `shutdown` is cancelled (otherwise it serves until the process ends).
    pub fn until(mut self, shutdown: &CancellationToken) -> Self {
        self.shutdown = Some(shutdown.clone());
        self
    }

    pub async fn start(self) -> FeedServer {
        let shared = Arc::new(Shared {
            answer: Mutex::new(self.answer),
            hits: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
        });
        let router = Router::new()
            .route("/feed.xml", get(answer))
            .with_state(shared.clone());
        let addr = match &self.shutdown {
            Some(token) => serve_until(router, token).await,
            None => serve(router).await.to_string(),
        };
        let base = format!("http://{addr}");
        FeedServer {
            url: format!("{base}/feed.xml"),
            base,
            shared,
        }
    }
}

/// The body's ETag: cheap, and changes whenever a test changes the body.
fn etag_of(body: &[u8]) -> String {
    format!(
        "\"{:x}\"",
        body.len() * 31 + body.iter().map(|b| usize::from(*b)).sum::<usize>()
    )
}

async fn answer(State(shared): State<Arc<Shared>>, request: HeaderMap) -> Response {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let (body, status, mut headers, etag) = {
        let a = shared.answer.lock().unwrap();
        let etag = a.etag.then(|| etag_of(&a.body));
        (a.body.clone(), a.status, a.headers.clone(), etag)
    };
    let asked = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if etag.is_some() && asked == etag.as_deref() {
        shared.not_modified.fetch_add(1, Ordering::SeqCst);
        return StatusCode::NOT_MODIFIED.into_response();
    }
    if let Some(tag) = etag {
        headers.push((header::ETAG, HeaderValue::from_str(&tag).unwrap()));
    }
    let mut response = (status, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value);
    }
    response
}
