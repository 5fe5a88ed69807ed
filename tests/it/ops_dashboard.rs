//! The status page's content against a store filled by the test: a card per source and per
//! account with what the store holds, the charts, escaping of whatever a feed or an operator
//! typed, and nothing but the sign-in form for an anonymous visitor. Plain HTTP; the browser
//! test (`ops_browser`) checks the layout.

use pinbridge::http::SourceInfo;
use pinbridge::store::{AccountState, SourceState};

use crate::support::ops::{ADMIN, Server, T0, item, plan, start_serving};

fn source(id: &str, kind: &str) -> SourceInfo {
    SourceInfo {
        id: id.into(),
        kind: kind.into(),
        paused: false,
    }
}

/// The `<article>` whose opening tag carries `attribute`.
fn card<'a>(html: &'a str, attribute: &str) -> &'a str {
    let start = html
        .find(attribute)
        .unwrap_or_else(|| panic!("no card with {attribute}: {html}"));
    let end = html[start..].find("</article>").expect("the card ends") + start;
    &html[start..end]
}

/// Ingest `key` from `source` and make its Pin `pin` at `at`.
async fn pin(server: &Server, source: &str, key: &str, pin: &str, at: i64) {
    let mut item = item(source, key);
    item.title = format!("Title of {key}");
    server.store.ingest(&item, plan("Board"), at).await.unwrap();
    let lease = server
        .store
        .claim(1, 60_000, at)
        .await
        .unwrap()
        .pop()
        .unwrap();
    server.store.complete(&lease, pin, at).await.unwrap();
}

#[tokio::test]
async fn the_cards_show_each_source_and_account_as_the_store_has_them() {
    let sources = vec![source("blog", "feed"), source("hooks", "webhook")];
    let server = start_serving(&["main"], Some(ADMIN), sources).await;
    let polled = SourceState {
        last_poll: Some(T0 - 3 * 60_000),
        next_poll: Some(T0 + 12 * 60_000),
        error_count: 2,
        last_error: Some("feed answered 503".into()),
        ..SourceState::default()
    };
    let blog = pinbridge::item::SourceId::new("blog");
    server.store.set_source_state(&blog, &polled).await.unwrap();
    pin(&server, "blog", "a", "pin-a", T0 - 10_000).await;
    pin(&server, "blog", "b", "pin-b", T0 - 2 * 3_600_000).await;
    server
        .store
        .ingest(&item("blog", "c"), plan("Board"), T0)
        .await
        .unwrap();
    let today = AccountState {
        day: Some(T0.div_euclid(86_400_000)),
        day_pins: 7,
        ..AccountState::default()
    };
    server
        .store
        .set_account_state("main", &today)
        .await
        .unwrap();
    server
        .store
        .block_account("main", T0 + 30 * 60_000)
        .await
        .unwrap();

    let html = server.get("/").await.text().await.unwrap();
    let blog = card(&html, "data-source=\"blog\"");
    assert!(
        html.contains("<article class=\"card source failing\" data-source=\"blog\">"),
        "{html}"
    );
    assert!(blog.contains("<dd>feed</dd>"), "the kind: {blog}");
    assert!(
        blog.contains("<time title=\"2026-09-21 14:10:20 UTC\">3 min ago</time>"),
        "last poll in human time, exact time as its title: {blog}"
    );
    assert!(blog.contains(">in 12 min</time>"), "{blog}");
    assert!(blog.contains("<dt>items seen</dt><dd>3</dd>"), "{blog}");
    assert!(blog.contains("<dt>Pins (24 h)</dt><dd>2</dd>"), "{blog}");
    assert!(blog.contains("feed answered 503"), "{blog}");
    let hooks = card(&html, "data-source=\"hooks\"");
    assert!(
        hooks.contains("none: it receives webhooks") && hooks.contains("<dd>0</dd>"),
        "{hooks}"
    );
    assert!(
        !hooks.contains("last poll"),
        "a webhook source is not polled: {hooks}"
    );

    let main = card(&html, "data-account=\"main\"");
    assert!(
        html.contains("<article class=\"card account attention\" data-account=\"main\">"),
        "{html}"
    );
    assert!(
        main.contains("blocked until 14:43 UTC"),
        "the 429 block: {main}"
    );
    assert!(
        main.contains("1 of 100 writes"),
        "the Pin of the last minute: {main}"
    );
    assert!(
        main.contains("7 of 200 Pins"),
        "today against the cap: {main}"
    );
    assert!(
        main.contains("from the configuration"),
        "token state: {main}"
    );
    assert!(
        main.contains(
            "<form method=post action=\"/ui/accounts/main/connect\"><button class=\"connect\">\
             Connect Pinterest account</button></form>"
        ),
        "{main}"
    );

    // The newest Pin first, with its image, title and a link to it.
    let (a, b) = (
        html.find("pin pin-a ").unwrap(),
        html.find("pin pin-b ").unwrap(),
    );
    assert!(a < b, "newest first");
    assert!(
        html.contains("href=\"https://www.pinterest.com/pin/pin-a/\""),
        "{html}"
    );
    assert!(
        html.contains("<img src=\"https://example.com/a.jpg\""),
        "{html}"
    );
    assert!(html.contains("Title of a"), "{html}");
    assert!(html.contains("backlog <b id=backlog>1</b>"), "{html}");
}

#[tokio::test]
async fn hostile_names_errors_and_titles_are_shown_as_text() {
    let evil_source = "<img src=x onerror=alert(1)>";
    let evil_account = "\"><script>alert(3)</script>";
    let server = start_serving(
        &[evil_account],
        Some(ADMIN),
        vec![source(evil_source, "feed")],
    )
    .await;
    let mut item = item(evil_source, "k");
    item.title = "<script>alert(2)</script>".into();
    server
        .store
        .ingest(&item, plan("<b>Board</b>"), T0)
        .await
        .unwrap();
    let lease = server
        .store
        .claim(1, 60_000, T0)
        .await
        .unwrap()
        .pop()
        .unwrap();
    server
        .store
        .complete(&lease, "pin\"><i>", T0)
        .await
        .unwrap();
    let polled = SourceState {
        last_error: Some("<script>alert(4)</script>".into()),
        error_count: 1,
        ..SourceState::default()
    };
    let id = pinbridge::item::SourceId::new(evil_source);
    server.store.set_source_state(&id, &polled).await.unwrap();
    server
        .job_ending("dead", Some("<iframe src=//evil.example>"), None)
        .await;

    let html = server.get("/").await.text().await.unwrap();
    for raw in ["<script", "<img src=x", "<b>Board", "<iframe", "<i>"] {
        assert!(
            !html.contains(raw),
            "`{raw}` reached the page as markup: {html}"
        );
    }
    for shown in [
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;script&gt;alert(2)&lt;/script&gt;",
        "&lt;script&gt;alert(4)&lt;/script&gt;",
        "&lt;iframe src=//evil.example&gt;",
        "&lt;b&gt;Board&lt;/b&gt;",
    ] {
        assert!(html.contains(shown), "`{shown}` is shown as text: {html}");
    }
    assert!(
        html.contains(
            "action=\"/ui/accounts/%22%3E%3Cscript%3Ealert%283%29%3C%2Fscript%3E/connect\""
        ),
        "the account name is one path segment: {html}"
    );
}

#[tokio::test]
async fn an_anonymous_visitor_sees_only_the_sign_in_form() {
    let server = start_serving(&["main"], Some(ADMIN), vec![source("blog", "feed")]).await;
    pin(&server, "blog", "a", "pin-a", T0).await;
    server.job_ending("d", Some("board missing"), None).await;
    let html = reqwest::get(format!("{}/", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<form method=post action=/ui/login>"),
        "{html}"
    );
    assert!(
        html.contains("id=token") && html.contains("id=login"),
        "{html}"
    );
    for private in [
        "blog",
        "data-account",
        "pin-a",
        "board missing",
        "<svg",
        "class=\"card",
        "Connect Pinterest",
        "Queue",
        "example.com",
    ] {
        assert!(
            !html.contains(private),
            "`{private}` before sign-in: {html}"
        );
    }
}

#[tokio::test]
async fn the_charts_show_pins_per_hour_and_the_backlog_sampled_over_time() {
    let server = start_serving(&["main"], Some(ADMIN), vec![source("blog", "feed")]).await;
    let html = server.get("/").await.text().await.unwrap();
    assert!(html.contains("No Pins made in the last 24 hours"), "{html}");
    assert!(
        html.contains("No Pins yet."),
        "the empty list says what to do: {html}"
    );
    assert!(html.contains("No failed jobs."), "{html}");

    let backlog = &html[html.find("id=backlog-chart").unwrap()..];
    assert!(
        backlog.contains("<circle"),
        "the first sample is a dot: {backlog}"
    );

    for key in ["a", "b", "c"] {
        server
            .store
            .ingest(&item("blog", key), plan("Board"), T0)
            .await
            .unwrap();
    }
    let now = T0 + 10 * 60_000;
    server.clock.set_ms(now);
    let lease = server
        .store
        .claim(1, 60_000, now)
        .await
        .unwrap()
        .pop()
        .unwrap();
    server.store.complete(&lease, "pin-1", now).await.unwrap();
    let html = server.get("/").await.text().await.unwrap();
    let pins = &html[html.find("id=pins-chart").unwrap()..html.find("id=backlog-chart").unwrap()];
    assert_eq!(
        pins.matches("<rect").count(),
        24,
        "one bar per hour: {pins}"
    );
    assert!(
        pins.contains("14:23 UTC: 1</title>"),
        "this hour has the Pin: {pins}"
    );
    let backlog = &html[html.find("id=backlog-chart").unwrap()..];
    let line = backlog.find("<polyline").expect("two samples draw a line");
    let points = &backlog[line..backlog[line..].find("/>").unwrap() + line];
    assert_eq!(points.matches(',').count(), 2, "two samples: {points}");
}
