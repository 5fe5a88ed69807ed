//! The API reference page at `/api/v1/docs`: rendered by pinbridge from the generated
//! document, one section per route the router serves, no scripts and nothing from elsewhere.

use std::collections::BTreeSet;

use crate::support::ops::start;

#[tokio::test]
async fn the_reference_page_lists_every_route_and_loads_nothing_else() {
    let server = start(&["main"], true).await;
    // Public, like the JSON document: no token.
    let answer = reqwest::get(format!("{}/api/v1/docs", server.base))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let headers = answer.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    let html = answer.text().await.unwrap();

    let mut listed = BTreeSet::new();
    for section in html.split("<section class=\"op\"").skip(1) {
        let attr = |name: &str| {
            let start = section.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            // Auto-escaped: minijinja writes `/` as `&#x2f;`.
            section[start..start + section[start..].find('"').unwrap()].replace("&#x2f;", "/")
        };
        listed.insert((attr("data-method").to_uppercase(), attr("data-path")));
    }
    let served: BTreeSet<(String, String)> = pinbridge::http::admin::routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(listed, served);

    // Nothing that runs, nothing fetched from elsewhere.
    let lower = html.to_lowercase();
    for banned in [
        "<script",
        "<link",
        "<iframe",
        "src=\"http",
        "href=\"http",
        "@import",
    ] {
        assert!(!lower.contains(banned), "{banned}");
    }
    // The schemas the operations name are on the page, with their fields.
    assert!(html.contains("id=\"schema-Job\""));
    assert!(html.contains("<code>attempts</code>"));
    assert!(html.contains("id=\"schema-PollPreview\""));
}

/// The stylesheet is the page's only inline content, and the CSP allows exactly it by hash.
#[tokio::test]
async fn the_csp_hash_matches_the_inline_stylesheet() {
    use base64::Engine;
    use sha2::Digest;
    let server = start(&["main"], true).await;
    let answer = reqwest::get(format!("{}/api/v1/docs", server.base))
        .await
        .unwrap();
    let csp = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = answer.text().await.unwrap();
    let start = html.find("<style>").unwrap() + "<style>".len();
    let end = html.find("</style>").unwrap();
    let digest = sha2::Sha256::digest(&html.as_bytes()[start..end]);
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
}
