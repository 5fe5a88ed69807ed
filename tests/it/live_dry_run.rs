//! `POST /api/v1/sources/{id}/dry-run` on the running app: the service fetches the feed with
//! its own fetcher, compares with the store it holds, answers what a poll would pin, and
//! writes nothing. The answers match the generated document's schemas.

use reqwest::Method;
use serde_json::Value;

use crate::ops_admin_schema::check;
use crate::support::feed_server::rss_posts;
use crate::support::live::*;
use pinbridge::item::{DedupKey, SourceId};

/// (key, verdict), sorted by key.
fn verdicts(preview: &Value) -> Vec<(String, String)> {
    let mut verdicts: Vec<(String, String)> = preview["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_string(),
                i["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    verdicts.sort();
    verdicts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_poll_tells_what_is_new_and_writes_nothing() {
    let setup = AppSetup::start().await;
    let feed = feed_server(2).await;
    let config = format!(
        "{}{}{}{}",
        setup.head(),
        feed_source("blog", &feed.url),
        route("blog", "Blog"),
        shop_source("shop", &["dry-run-secret"]),
    );
    let app = setup.spawn_app(&config).await;
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let post_1 = DedupKey("guid:post-1".into());
    // The poll's items, then its state (validators, baseline) are written: wait for both.
    eventually("the first poll recorded the feed", || async {
        let state = app
            .store
            .source_state(&SourceId::new("blog"))
            .await
            .unwrap();
        app.item("blog", &post_1).await.is_some() && state.baselined && state.last_poll.is_some()
    })
    .await;

    feed.set_body(rss_posts(3));
    let hits = feed.hits();
    let (code, preview) = app.api(Method::POST, "/sources/blog/dry-run", None).await;
    assert_eq!(code, 200, "{preview}");
    check(&doc, "post", "/sources/{id}/dry-run", 200, &preview);
    assert_eq!(feed.hits(), hits + 1, "fetched once, now");
    assert_eq!(
        verdicts(&preview),
        [
            ("guid:post-0".to_string(), "known".to_string()),
            ("guid:post-1".to_string(), "known".to_string()),
            ("guid:post-2".to_string(), "new".to_string()),
        ]
    );
    assert_eq!(preview["would_pin"], 1);
    assert_eq!(preview["first_contact"], false);
    let post_2 = DedupKey("guid:post-2".into());
    assert!(
        app.item("blog", &post_2).await.is_none(),
        "a dry run records nothing"
    );

    // A webhook source is not polled; an unknown one does not exist.
    let (code, refused) = app.api(Method::POST, "/sources/shop/dry-run", None).await;
    assert_eq!(code, 409, "{refused}");
    check(&doc, "post", "/sources/{id}/dry-run", 409, &refused);
    let (code, missing) = app.api(Method::POST, "/sources/nope/dry-run", None).await;
    assert_eq!(code, 404, "{missing}");
    check(&doc, "post", "/sources/{id}/dry-run", 404, &missing);

    // A feed that fails: 502 with the reason, still nothing written.
    feed.set_status(500);
    let (code, failed) = app.api(Method::POST, "/sources/blog/dry-run", None).await;
    assert_eq!(code, 502, "{failed}");
    check(&doc, "post", "/sources/{id}/dry-run", 502, &failed);
    assert!(
        failed["error"].as_str().unwrap().contains("500"),
        "{failed}"
    );

    // The live-configuration answers match their schemas too.
    for (path, concrete) in [
        ("/sources", "/sources"),
        ("/routes", "/routes"),
        ("/config/status", "/config/status"),
    ] {
        let (code, body) = app.api(Method::GET, concrete, None).await;
        assert_eq!(code, 200, "{body}");
        check(&doc, "get", path, 200, &body);
    }
    let (code, paused) = app.api(Method::POST, "/sources/blog/pause", None).await;
    assert_eq!(code, 200, "{paused}");
    check(&doc, "post", "/sources/{id}/pause", 200, &paused);
    app.stop().await;
}
