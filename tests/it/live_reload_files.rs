//! Reloads that go wrong or come from elsewhere: an invalid file leaves the running config
//! untouched, `watch_config` reloads when the file changes, and WebSub callbacks follow the feeds
//! in force.

use pinbridge::live::status::Trigger;
use reqwest::Method;
use serde_json::Value;

use super::live_reload::*;
use crate::support::live::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_reload_leaves_the_running_config_untouched() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let feed = feed_server(2).await;
    let head = setup.head();
    let good = format!(
        "{head}{}{}{}",
        shop_source("shop", &[OLD]),
        feed_source("blog", &feed.url),
        route("*", "All")
    );
    std::fs::write(path, &good).unwrap();
    let app = spawn_app(path, store_dir).await;
    eventually("the feed is polled", || async { feed.hits() >= 1 }).await;

    // A misspelt key, a bad regex, and the old secret dropped for a new one.
    let bad = format!(
        "{head}{}{}{}\n[routes.when]\ntitle = \"(unclosed\"\n",
        shop_source("shop", &[NEW]),
        feed_source("blog", &feed.url).replace("backfill", "backfil"),
        route("*", "All")
    );
    std::fs::write(path, &bad).unwrap();
    assert!(
        !app.live.reload(Trigger::Sighup).await,
        "an invalid file is refused"
    );

    let (code, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(code, 200);
    assert_eq!(status["generation"], 1, "nothing new in force: {status}");
    assert_eq!(status["last_reload"]["ok"], false);
    assert_eq!(status["last_reload"]["trigger"], "sighup");
    let keys: Vec<&str> = status["last_reload"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert!(keys.contains(&"sources[1].backfil"), "{keys:?}");
    assert!(keys.contains(&"routes[0].when.title"), "{keys:?}");
    let backfil = &status["last_reload"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "sources[1].backfil")
        .unwrap();
    assert!(
        backfil["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `backfill`"),
        "{backfil}"
    );
    assert!(
        backfil["line"].as_u64().is_some(),
        "problems in the file carry their line"
    );

    // Readiness stays OK (the old config serves) and shows the refused reload.
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        // The details (the reload status among them) are for the admin.
        .bearer_auth(crate::support::live::ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["config"]["last_reload"]["ok"], false, "{ready}");

    // The old secret still verifies, the new one does not; the feed's poller still runs.
    assert_eq!(app.send_product("shop", OLD, 1).await, Some(200));
    assert_eq!(app.send_product("shop", NEW, 2).await, Some(401));
    assert_eq!(app.live.runtime().running().await, vec!["blog".to_string()]);
    let (_, sources) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(sources["sources"].as_array().unwrap().len(), 2);

    // A broken file (not TOML at all) is refused the same way; fixing it applies.
    std::fs::write(path, "[server\nlisten = ").unwrap();
    assert!(!app.live.reload(Trigger::Watch).await);
    std::fs::write(path, &good).unwrap();
    assert!(app.live.reload(Trigger::Watch).await);
    let (_, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(status["last_reload"]["ok"], true, "{status}");
    assert_eq!(status["generation"], 2);
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_config_reloads_when_the_file_changes() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let head = setup
        .head()
        .replace("[server]\n", "[server]\nwatch_config = true\n");
    std::fs::write(path, format!("{head}{}", shop_source("shop", &[OLD]))).unwrap();
    let app = spawn_app(path, store_dir).await;
    assert_eq!(app.send_product("other", OLD, 1).await, Some(404));
    std::fs::write(
        path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[OLD]),
            shop_source("other", &[NEW])
        ),
    )
    .unwrap();
    let (client, base) = (app.client.clone(), app.base.clone());
    eventually("the watcher applies the new file", || {
        let (client, base) = (client.clone(), base.clone());
        async move { send(&client, &base, "other", NEW, 2).await == Some(200) }
    })
    .await;
    let (_, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(status["last_reload"]["trigger"], "watch", "{status}");
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websub_callbacks_follow_the_feeds_in_force() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let feed = feed_server(1).await;
    let head = setup.head().replace(
        "[server]\n",
        "[server]\npublic_url = \"https://pinbridge.example/\"\n",
    );
    std::fs::write(path, &head).unwrap();
    let app = spawn_app(path, store_dir).await;
    // Without hub.mode: 404 for a feed the subscriber does not know, 400 for one it knows
    // (whatever the callback token: the request is refused before the token is looked at).
    let callback = |base: String| async move {
        reqwest::get(format!("{base}/websub/blog/some-token"))
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(callback(app.base.clone()).await, 404);
    let body =
        serde_json::json!({"id": "blog", "kind": "feed", "url": feed.url, "allow_private": true});
    let (code, _) = app.api(Method::POST, "/sources", Some(body)).await;
    assert_eq!(code, 201);
    assert_eq!(
        callback(app.base.clone()).await,
        400,
        "the new feed's callback is served"
    );
    assert_eq!(app.live.runtime().running().await, ["blog"]);
    let (code, _) = app.api(Method::DELETE, "/sources/blog", None).await;
    assert_eq!(code, 200);
    assert_eq!(callback(app.base.clone()).await, 404);
    app.stop().await;
    stop.cancel();
}
