//! The runtime API: sources and routes created, replaced, paused, resumed and deleted over
//! `/api/v1`, checked like the file, kept in the store across restarts.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::live::*;

pub(crate) const SECRET: &str = "api-shop-secret";

pub(crate) fn keys(answer: &Value) -> Vec<String> {
    answer["problems"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|p| p["key"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn source<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no source {id} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_and_routes_are_managed_over_the_api() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let feed = feed_server(2).await;
    let head = setup.head();
    std::fs::write(
        path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[SECRET]),
            route("shop", "Shop")
        ),
    )
    .unwrap();
    let app = spawn_app(path, store_dir).await;

    // Create a feed source: it starts polling at once.
    let blog = json!({"id": "blog", "kind": "feed", "url": feed.url, "interval": "30m", "allow_private": true});
    let (code, created) = app.api(Method::POST, "/sources", Some(blog.clone())).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["origin"], "api");
    assert_eq!(created["settings"]["url"], feed.url.as_str());
    eventually("the new source is polled", || async { feed.hits() >= 1 }).await;
    let (code, again) = app.api(Method::POST, "/sources", Some(blog)).await;
    assert_eq!(code, 409, "{again}");

    // Listed with origin and settings; secrets are not shown.
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(source(&list, "shop")["origin"], "file");
    assert_eq!(source(&list, "shop")["settings"]["secret"], "[redacted]");
    assert_eq!(source(&list, "blog")["origin"], "api");

    // Invalid bodies: 400 with the key path and the file's message; nothing changes.
    let (code, bad) = app
        .api(
            Method::POST,
            "/sources",
            Some(json!({"id": "ftp", "kind": "feed", "url": "ftp://example.com/feed"})),
        )
        .await;
    assert_eq!(code, 400, "{bad}");
    assert!(
        keys(&bad).iter().any(|k| k.starts_with("sources[ftp].url")),
        "{bad}"
    );
    let (code, bad) = app
        .api(
            Method::POST,
            "/sources",
            Some(
                json!({"id": "typo", "kind": "feed", "url": "https://e.com/f", "intervall": "5m"}),
            ),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(keys(&bad), ["sources[typo].intervall"], "{bad}");
    assert!(
        bad["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `interval`")
    );
    let (code, bad) = app
        .api(Method::POST, "/sources", Some(json!({"kind": "feed"})))
        .await;
    assert_eq!(code, 400, "{bad}");
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(list["sources"].as_array().unwrap().len(), 2);

    // A file source is edited in the file.
    let (code, answer) = app
        .api(Method::PUT, "/sources/shop", Some(json!({"kind": "webhook", "preset": "shopify", "secret": "x", "storefront_url": "https://s.example"})))
        .await;
    assert_eq!(code, 409);
    assert!(
        answer["error"].as_str().unwrap().contains("edit the file"),
        "{answer}"
    );
    let (code, _) = app.api(Method::DELETE, "/sources/shop", None).await;
    assert_eq!(code, 409);

    // Replace the API source (its poller restarts with the new settings).
    let (code, replaced) = app
        .api(
            Method::PUT,
            "/sources/blog",
            Some(
                json!({"kind": "feed", "url": feed.url, "interval": "45m", "allow_private": true}),
            ),
        )
        .await;
    assert_eq!(code, 200, "{replaced}");
    assert_eq!(replaced["settings"]["interval"], "45m");
    assert_eq!(app.live.runtime().running().await, ["blog"]);

    // Pause and resume, any origin. A paused webhook answers 404.
    let (code, paused) = app.api(Method::POST, "/sources/shop/pause", None).await;
    assert_eq!((code, &paused["paused"]), (200, &json!(true)));
    assert_eq!(app.send_product("shop", SECRET, 1).await, Some(404));
    let (_, paused) = app.api(Method::POST, "/sources/blog/pause", None).await;
    assert_eq!(paused["state"], "paused");
    assert!(app.live.runtime().running().await.is_empty());
    app.api(Method::POST, "/sources/shop/resume", None).await;
    let (code, resumed) = app.api(Method::POST, "/sources/blog/resume", None).await;
    assert_eq!((code, &resumed["paused"]), (200, &json!(false)));
    assert_eq!(app.send_product("shop", SECRET, 2).await, Some(200));
    assert_eq!(app.live.runtime().running().await, ["blog"]);
    let (code, _) = app.api(Method::POST, "/sources/nope/pause", None).await;
    assert_eq!(code, 404);

    // Routes: origin listed; an API route needs a name; invalid ones are refused with the key.
    let (_, routes) = app.api(Method::GET, "/routes", None).await;
    assert_eq!(routes["routes"][0]["name"], "routes[0]");
    assert_eq!(routes["routes"][0]["origin"], "file");
    let (code, bad) = app
        .api(
            Method::POST,
            "/routes",
            Some(json!({"source": "blog", "board": "Blog"})),
        )
        .await;
    assert_eq!(code, 400, "{bad}");
    assert!(
        bad["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("name")
    );
    let (code, bad) = app
        .api(Method::POST, "/routes", Some(json!({"name": "blog", "source": "blog", "board": "Blog", "when": {"title": "(oops"}})))
        .await;
    assert_eq!(code, 400);
    assert_eq!(keys(&bad), ["routes[blog].when.title"], "{bad}");
    let (code, bad) = app
        .api(
            Method::POST,
            "/routes",
            Some(json!({"name": "blog", "source": "gone", "board": "Blog"})),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(keys(&bad), ["routes[blog].source"], "{bad}");
    let (code, made) = app
        .api(
            Method::POST,
            "/routes",
            Some(
                json!({"name": "blog", "source": "blog", "board": "Blog", "create_missing": true}),
            ),
        )
        .await;
    assert_eq!(code, 201, "{made}");
    assert_eq!(made["origin"], "api");
    let (code, _) = app
        .api(
            Method::POST,
            "/routes",
            Some(json!({"name": "blog", "source": "blog", "board": "B"})),
        )
        .await;
    assert_eq!(code, 409);
    let (code, changed) = app
        .api(
            Method::PUT,
            "/routes/blog",
            Some(json!({"source": "blog", "board": "Blog 2"})),
        )
        .await;
    assert_eq!(code, 200, "{changed}");
    assert_eq!(changed["settings"]["board"], "Blog 2");
    let (code, _) = app
        .api(
            Method::PUT,
            "/routes/routes[0]",
            Some(json!({"source": "shop", "board": "X"})),
        )
        .await;
    assert_eq!(code, 409);
    // A source a route names cannot be deleted from under it.
    let (code, conflict) = app
        .api(Method::DELETE, "/sources/blog?queued=finish", None)
        .await;
    assert_eq!(code, 409, "{conflict}");
    assert_eq!(keys(&conflict), ["routes[blog].source"]);
    let (code, _) = app.api(Method::DELETE, "/routes/blog", None).await;
    assert_eq!(code, 200);
    let (code, _) = app.api(Method::DELETE, "/routes/blog", None).await;
    assert_eq!(code, 404);
    let (code, deleted) = app.api(Method::DELETE, "/sources/blog", None).await;
    assert_eq!(code, 200, "{deleted}");
    assert!(app.live.runtime().running().await.is_empty());
    let (code, _) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(code, 200);
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_is_all_or_nothing_and_skips_what_exists() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let feed = feed_server(1).await;
    let head = setup.head();
    std::fs::write(path, format!("{head}{}", feed_source("blog", &feed.url))).unwrap();
    let app = spawn_app(path, store_dir).await;
    let entry =
        |id: &str, url: &str| json!({"id": id, "kind": "feed", "url": url, "allow_private": true});

    let batch = json!({"sources": [
        entry("a", "https://a.example/feed"),
        entry("blog", "https://other.example/feed"),
        entry("same-url", &format!("{}/", feed.url)),
        entry("b", "https://b.example/feed"),
    ], "dry_run": true});
    let (code, answer) = app
        .api(Method::POST, "/sources/import", Some(batch.clone()))
        .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["added"], json!(["a", "b"]));
    assert_eq!(answer["existing"], json!(["blog", "same-url"]));
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(
        list["sources"].as_array().unwrap().len(),
        1,
        "a dry run changes nothing"
    );

    let mut with_bad = batch.clone();
    with_bad["dry_run"] = json!(false);
    with_bad["sources"]
        .as_array_mut()
        .unwrap()
        .push(entry("c", "gopher://c.example/"));
    let (code, answer) = app
        .api(Method::POST, "/sources/import", Some(with_bad))
        .await;
    assert_eq!(code, 400, "{answer}");
    assert!(
        keys(&answer)
            .iter()
            .any(|k| k.starts_with("sources[c].url")),
        "{answer}"
    );
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(
        list["sources"].as_array().unwrap().len(),
        1,
        "nothing half-added"
    );

    let mut real = batch;
    real["dry_run"] = json!(false);
    let (code, answer) = app
        .api(Method::POST, "/sources/import", Some(real.clone()))
        .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["added"], json!(["a", "b"]));
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(list["sources"].as_array().unwrap().len(), 3);
    let (_, answer) = app.api(Method::POST, "/sources/import", Some(real)).await;
    assert_eq!(answer["added"], json!([]), "importing again adds nothing");
    assert_eq!(answer["existing"], json!(["a", "blog", "same-url", "b"]));
    app.stop().await;
    stop.cancel();
}
