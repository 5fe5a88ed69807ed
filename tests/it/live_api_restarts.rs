//! The runtime API across stops and starts: deleting a source with queued jobs needs a choice,
//! API changes survive a restart, and stored records that no longer fit the file do not stop the
//! start.

use pinbridge::item::SourceId;
use pinbridge::store::prelude::*;
use pinbridge::store::{JobFilter, JobState, SourceState};
use reqwest::Method;
use serde_json::json;

use super::live_api::*;
use crate::support::live::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_source_with_queued_jobs_needs_a_choice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pinbridge.toml");
    let store_dir = dir.path().join("store");
    // Pinterest is unreachable: jobs fail once and wait an hour (backoff_base) in `retry`.
    let head = head("127.0.0.1:0", &store_dir, "http://127.0.0.1:9/v5/", "token");
    std::fs::write(&path, &head).unwrap();
    let app = spawn_app(&path, &store_dir).await;
    let (code, made) = app
        .api(Method::POST, "/sources", Some(json!({"id": "shop", "kind": "webhook", "preset": "shopify", "secret": SECRET, "storefront_url": "https://shop.example"})))
        .await;
    assert_eq!(code, 201, "{made}");
    let (code, _) = app
        .api(
            Method::POST,
            "/routes",
            Some(json!({"name": "shop", "source": "shop", "board": "Shop"})),
        )
        .await;
    assert_eq!(code, 201);
    for id in 1..=3 {
        assert_eq!(app.send_product("shop", SECRET, id).await, Some(200));
    }
    let store = app.store.clone();
    let jobs_of = move |state: &'static str| {
        let store = store.clone();
        async move {
            store
                .jobs(JobFilter {
                    source: Some(SourceId::new("shop")),
                    state: Some(state.into()),
                    limit: 0,
                })
                .await
                .unwrap()
        }
    };
    eventually("every job tried once and waiting", || {
        let jobs_of = jobs_of.clone();
        async move { jobs_of("retry").await.len() == 3 }
    })
    .await;

    // The route names the source: delete it first.
    app.api(Method::DELETE, "/routes/shop", None).await;
    let (code, answer) = app.api(Method::DELETE, "/sources/shop", None).await;
    assert_eq!(code, 409, "{answer}");
    assert_eq!(answer["unfinished"], 3);
    assert!(
        answer["error"].as_str().unwrap().contains("3 unfinished"),
        "{answer}"
    );
    let (code, answer) = app
        .api(Method::DELETE, "/sources/shop?queued=maybe", None)
        .await;
    assert_eq!(code, 400, "{answer}");
    let (code, answer) = app
        .api(Method::DELETE, "/sources/shop?queued=cancel", None)
        .await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["cancelled"], 3);
    let dead = jobs_of("dead").await;
    assert_eq!(dead.len(), 3, "cancelled jobs are visible, not lost");
    assert!(dead.iter().all(
        |j| matches!(&j.state, JobState::Dead { error, .. } if error == "cancelled: source deleted")
    ));
    assert_eq!(
        app.send_product("shop", SECRET, 9).await,
        Some(404),
        "the webhook is gone"
    );
    // Revivable like any dead job.
    let (code, _) = app
        .api(Method::POST, &format!("/jobs/{}/retry", dead[0].id.0), None)
        .await;
    assert_eq!(code, 200);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_changes_survive_a_restart() {
    let setup = AppSetup::start().await;
    let (path, store_dir, stop) = (&setup.path, &setup.store_dir, &setup.stop);
    let feed = feed_server(2).await;
    let head = setup.head();
    std::fs::write(path, format!("{head}{}", shop_source("shop", &[SECRET]))).unwrap();

    let app = spawn_app(path, store_dir).await;
    let (code, _) = app
        .api(
            Method::POST,
            "/sources",
            Some(json!({"id": "blog", "kind": "feed", "url": feed.url, "allow_private": true})),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = app
        .api(
            Method::POST,
            "/routes",
            Some(json!({"name": "blog", "source": "blog", "board": "Blog"})),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = app.api(Method::POST, "/sources/shop/pause", None).await;
    assert_eq!(code, 200);
    eventually("the API source is polled", || async { feed.hits() >= 1 }).await;
    app.stop().await;

    // The interval passes while the service is down.
    let hits = feed.hits();
    {
        let store = open_store(store_dir).await;
        let mut state: SourceState = store.source_state(&SourceId::new("blog")).await.unwrap();
        state.next_poll = Some(0);
        store
            .set_source_state(&SourceId::new("blog"), &state)
            .await
            .unwrap();
        store.close().await.unwrap();
    }

    let app = spawn_app(path, store_dir).await;
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(source(&list, "blog")["origin"], "api");
    assert_eq!(
        source(&list, "shop")["paused"],
        true,
        "the pause override is kept"
    );
    assert_eq!(app.send_product("shop", SECRET, 1).await, Some(404));
    let (_, routes) = app.api(Method::GET, "/routes", None).await;
    assert_eq!(routes["routes"][0]["name"], "blog");
    assert_eq!(routes["routes"][0]["origin"], "api");
    eventually("the API source polls after the restart", || async {
        feed.hits() > hits
    })
    .await;
    app.stop().await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_no_longer_fit_the_file_do_not_stop_the_start() {
    let setup = AppSetup::start().await;
    let feed = feed_server(1).await;
    let head = setup.head();
    let app = setup
        .spawn_app(&format!("{head}{}", shop_source("shop", &[SECRET])))
        .await;
    let body = json!({"id": "blog", "kind": "feed", "url": feed.url, "allow_private": true});
    assert_eq!(app.api(Method::POST, "/sources", Some(body)).await.0, 201);
    app.stop().await;

    // The file now defines `blog` too: the service starts on the file alone and says why.
    std::fs::write(
        &setup.path,
        format!(
            "{head}{}{}",
            shop_source("shop", &[SECRET]),
            feed_source("blog", &feed.url)
        ),
    )
    .unwrap();
    let app = spawn_app(&setup.path, &setup.store_dir).await;
    let (_, status) = app.api(Method::GET, "/config/status", None).await;
    assert_eq!(status["last_reload"]["ok"], false, "{status}");
    assert_eq!(status["last_reload"]["trigger"], "start");
    assert!(
        keys(&status["last_reload"]).contains(&"sources[blog].id".to_string()),
        "{status}"
    );
    let (_, list) = app.api(Method::GET, "/sources", None).await;
    assert_eq!(source(&list, "blog")["origin"], "file");
    assert_eq!(app.send_product("shop", SECRET, 1).await, Some(200));
    app.stop().await;
    setup.stop.cancel();
}
