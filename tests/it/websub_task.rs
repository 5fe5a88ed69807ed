//! WebSub as the running service drives it: the per-source task (poll first, then subscribe,
//! stop on shutdown) and the App serving callbacks once `public_url` is set.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::support::feed::sled_store;
use crate::support::websub::*;

/// Poll `check` every 20 ms until it holds, for at most 10 s.
async fn eventually(mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn the_task_polls_first_then_subscribes_and_stops_on_shutdown() {
    let w = world(true).await;
    let token = CancellationToken::new();
    let task = tokio::spawn(pinbridge::sources::websub::run(
        w.source.clone(),
        w.ingest.clone(),
        w.websub.clone(),
        token.clone(),
    ));
    assert!(
        eventually(async || !w.shared.requests.lock().unwrap().is_empty()).await,
        "the task never asked the hub"
    );
    // The feed was baselined (polled) before the subscription was requested.
    assert!(w.store.state("shed").await.baselined);
    assert_eq!(w.titles().await, [("Alpha".to_string(), 0)]);
    assert_eq!(w.last_request()["hub.mode"], "subscribe");
    token.cancel();
    tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("the task stops on shutdown")
        .expect("no panic");
}

#[tokio::test]
async fn the_app_subscribes_and_serves_the_callback_when_public_url_is_set() {
    let w = world(true).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}/", listener.local_addr().unwrap());
    let text = format!(
        r#"
[server]
public_url = "{public}"

[[sources]]
id = "blog"
kind = "feed"
url = "{feed}"
allow_private = true
"#,
        feed = w.feed_url
    );
    let config =
        pinbridge::config::Config::from_toml(&text, std::path::Path::new("websub.toml"), &|_| None)
            .expect("valid config");
    let store = sled_store().await;
    let app = pinbridge::app::App::build_with_store(
        &config,
        Arc::new(w.clock.clone()),
        store.store.clone(),
    )
    .await
    .expect("app");
    let token = CancellationToken::new();
    let running = tokio::spawn(app.run(listener, token.clone()));
    assert!(
        eventually(async || !w.shared.requests.lock().unwrap().is_empty()).await,
        "the app never asked the hub"
    );
    let form = w.last_request();
    assert!(
        form["hub.callback"].starts_with(&format!("{public}websub/blog/")),
        "{}",
        form["hub.callback"]
    );
    let r = w
        .http
        .get(&form["hub.callback"])
        .query(&[
            ("hub.mode", "subscribe"),
            ("hub.topic", form["hub.topic"].as_str()),
            ("hub.challenge", "from-the-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "from-the-app");
    token.cancel();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), running).await;
}
