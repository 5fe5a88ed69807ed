//! What the public port shows to someone without the admin token: `/healthz` and a bare
//! `/readyz`, nothing else. Empty tokens open nothing; sign-ins back off per address; the
//! status page sends its security headers; URLs and addresses in errors are redacted.

use pinbridge::item::SourceId;
use pinbridge::sources::feed::poller::poll_cycle;
use pinbridge::store::SourceState;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::feed::{ingest, sled_store, source};
use crate::support::ops::{ADMIN, start, start_with};

/// A poll error as resolver and fetch errors read: a URL with a query secret, an address.
const LEAKY: &str = "fetching https://feeds.example/f.xml?token=s3cr3t-query failed: \
                     feeds.example resolves to 10.20.30.40, a private address";

async fn with_private_things() -> crate::support::ops::Server {
    let server = start(&["main"], true).await;
    server
        .job_ending("a", Some("board Secret-Board is gone"), None)
        .await;
    server.job_ending("b", None, Some("pin-77")).await;
    let state = SourceState {
        error_count: 2,
        last_error: Some(LEAKY.into()),
        ..SourceState::default()
    };
    server
        .store
        .set_source_state(&SourceId::new("blog"), &state)
        .await
        .unwrap();
    server
}

#[tokio::test]
async fn without_the_token_only_health_and_bare_readiness_are_shown() {
    let server = with_private_things().await;
    let anonymous = reqwest::Client::new();
    let get = |path: &str| anonymous.get(format!("{}{path}", server.base)).send();

    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body, json!({"ready": true}), "no details without the token");

    let page = get("/").await.unwrap().text().await.unwrap();
    for private in ["blog", "s3cr3t", "10.20.30.40", "Secret-Board", "pin-77"] {
        assert!(
            !page.contains(private),
            "`{private}` on the open page: {page}"
        );
    }
    let metrics = get("/metrics").await.unwrap();
    assert_eq!(metrics.status(), 401);
    assert_eq!(get("/api/v1/sources").await.unwrap().status(), 401);

    // With the token: metrics and readiness details (a scrape with `authorization`).
    assert_eq!(server.get("/metrics").await.status(), 200);
    let body: Value = server.get("/readyz").await.json().await.unwrap();
    assert_eq!(body["accounts"][0]["name"], "main");
}

#[tokio::test]
async fn an_empty_token_opens_nothing() {
    // A configured token of "" (validation refuses it; this is the last line of defence).
    let server = start_with(&["main"], Some("")).await;
    let client = reqwest::Client::new();
    for (name, value) in [
        ("cookie", "pinbridge_admin="),
        ("cookie", "pinbridge_session="),
        ("authorization", "Bearer "),
        ("authorization", "Bearer"),
    ] {
        let answer = client
            .get(format!("{}/api/v1/sources", server.base))
            .header(name, value)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{name}: {value}");
    }
    let login = client
        .post(format!("{}/ui/login", server.base))
        .form(&[("token", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 401);
}

#[tokio::test]
async fn failed_sign_ins_back_off_per_client_address() {
    let server = start(&["main"], true).await;
    let no_redirects = |from: [u8; 4]| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(std::net::IpAddr::from(from))
            .build()
            .unwrap()
    };
    let guesser = no_redirects([127, 0, 0, 1]);
    let login = |client: &reqwest::Client, token: &str| {
        client
            .post(format!("{}/ui/login", server.base))
            .form(&[("token", token.to_string())])
            .send()
    };
    let mut statuses = Vec::new();
    for guess in 0..8 {
        statuses.push(
            login(&guesser, &format!("guess-{guess}"))
                .await
                .unwrap()
                .status()
                .as_u16(),
        );
    }
    assert!(statuses[..5].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // Even the right token waits now, and is told how long.
    let waiting = login(&guesser, ADMIN).await.unwrap();
    assert_eq!(waiting.status(), 429);
    assert!(waiting.headers().contains_key("retry-after"));
    // Another address is not held up by the guesser.
    let operator = no_redirects([127, 0, 0, 2]);
    assert_eq!(login(&operator, ADMIN).await.unwrap().status(), 303);
}

#[tokio::test]
async fn the_status_page_forbids_framing_sniffing_and_cross_site_referrers() {
    let server = start(&["main"], true).await;
    let page = reqwest::get(format!("{}/", server.base)).await.unwrap();
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("referrer-policy"), "same-origin");
}

#[tokio::test]
async fn urls_and_addresses_are_redacted_for_the_admin_too() {
    let server = with_private_things().await;
    let page = server.get("/").await.text().await.unwrap();
    assert!(page.contains("blog"), "the admin sees the source: {page}");
    assert!(!page.contains("s3cr3t-query"), "{page}");
    assert!(!page.contains("10.20.30.40"), "{page}");
    assert!(page.contains("token=REDACTED"), "{page}");
    // The API gives the admin a source's settings as stored (export and read-modify-write
    // clients need the real URL), but its stored error is redacted there too.
    let sources: Value = server.get("/api/v1/sources").await.json().await.unwrap();
    let blog = sources["sources"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == "blog"))
        .unwrap_or_else(|| panic!("the blog source is listed: {sources}"));
    let error = blog["last_error"].as_str().unwrap_or_default();
    assert!(!error.contains("s3cr3t-query"), "{error}");
    assert!(!error.contains("10.20.30.40"), "{error}");
    assert!(error.contains("token=REDACTED"), "{error}");
}

#[tokio::test]
async fn a_refused_feed_stores_its_error_without_the_address_or_query_secret() {
    let sled = sled_store().await;
    let (ingest, _clock) = ingest(sled.store.clone(), "guarded");
    // Loopback without `allow_private`: the guard refuses it and says why.
    let feed = source(
        "guarded",
        "http://127.0.0.1:9/feed.xml?token=s3cr3t-query",
        |s| s.allow_private = false,
    );
    poll_cycle(&feed, &ingest, &CancellationToken::new())
        .await
        .unwrap();
    let error = sled.state("guarded").await.last_error.expect("an error");
    assert!(error.contains("loopback"), "the reason stays: {error}");
    assert!(!error.contains("127.0.0.1"), "{error}");
    assert!(!error.contains("s3cr3t-query"), "{error}");
    assert!(error.contains("token=REDACTED"), "{error}");
}
