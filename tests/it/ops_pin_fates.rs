//! What became of each Pin, on the status page: a recent Pin's fate badge (created, updated,
//! deleted, adopted) with its time, and the per-item page `/ui/items/{source}/{key}` with the
//! item's Pins and their events, escaped, 404 for an unknown item, and the sign-in form for an
//! anonymous visitor. The store is filled directly, as the engine would leave it.

use pinbridge::http::SourceInfo;
use pinbridge::item::Item;
use pinbridge::store::follow::{NOTE_DELETED, NOTE_UPDATED};
use pinbridge::store::{IngestPlan, PinRecord};
use pinbridge::sync::board_pacing::adopted_note;

use crate::support::ops::{ADMIN, Server, T0, item, plan, start_serving};

const ROUTE: &str = "routes[0]";

fn source(id: &str) -> SourceInfo {
    SourceInfo {
        id: id.into(),
        kind: "feed".into(),
        paused: false,
    }
}

/// Claim the one runnable job and finish it on `pin` with `note`, as the engine does.
async fn finish(server: &Server, pin: &str, note: Option<&str>, at: i64) {
    let lease = server
        .store
        .claim(1, 60_000, at)
        .await
        .unwrap()
        .pop()
        .expect("a job to run");
    let record = PinRecord { link: None, note };
    server
        .store
        .complete_pin(&lease, pin, record, at)
        .await
        .unwrap();
}

fn updating(board: &str) -> IngestPlan {
    IngestPlan {
        update_routes: vec![ROUTE.into()],
        ..plan(board)
    }
}

/// `key` pinned, its item changed and its Pin updated, then removed at its source and its Pin
/// deleted: the item.
async fn pinned_updated_deleted(server: &Server, key: &str) -> Item {
    let mut first = item("blog", key);
    first.title = format!("First {key}");
    server
        .store
        .ingest(&first, plan("Board"), T0)
        .await
        .unwrap();
    finish(server, &format!("pin-{key}"), None, T0).await;
    let mut second = first.clone();
    second.title = format!("Second {key}");
    server
        .store
        .ingest(&second, updating("Board"), T0 + 1_000)
        .await
        .unwrap();
    finish(
        server,
        &format!("pin-{key}"),
        Some(NOTE_UPDATED),
        T0 + 2_000,
    )
    .await;
    let routes = [ROUTE.to_string()];
    let removed = server
        .store
        .source_removed(&second.source, &second.key, &routes, T0 + 3_000)
        .await
        .unwrap();
    assert_eq!(removed.deletes, 1);
    finish(
        server,
        &format!("pin-{key}"),
        Some(NOTE_DELETED),
        T0 + 4_000,
    )
    .await;
    second
}

/// `key` pinned by adopting the Pin `pin` already on its board.
async fn adopted(server: &Server, key: &str, pin: &str, at: i64) -> Item {
    let item = item("blog", key);
    server.store.ingest(&item, plan("Board"), at).await.unwrap();
    finish(server, pin, Some(&adopted_note(pin)), at).await;
    item
}

async fn pinned(server: &Server, key: &str, at: i64) {
    server
        .store
        .ingest(&item("blog", key), plan("Board"), at)
        .await
        .unwrap();
    finish(server, &format!("pin-{key}"), None, at).await;
}

/// The `<li>` of the recent Pin `pin`.
fn recent<'a>(html: &'a str, pin: &str) -> &'a str {
    let at = html
        .find(&format!("pin {pin} "))
        .unwrap_or_else(|| panic!("no recent Pin {pin}: {html}"));
    let end = html[at..].find("</li>").expect("the row ends") + at;
    &html[at..end]
}

#[tokio::test]
async fn each_recent_pin_shows_its_fate_and_links_its_items_page() {
    let server = start_serving(&["main"], Some(ADMIN), vec![source("blog")]).await;
    pinned_updated_deleted(&server, "gone").await;
    adopted(&server, "kept", "pin-theirs", T0 + 5_000).await;
    pinned(&server, "fresh", T0 + 6_000).await;
    server.clock.set_ms(T0 + 60_000);

    let html = server.get("/").await.text().await.unwrap();
    let gone = recent(&html, "pin-gone");
    assert!(
        gone.contains("<span class=\"badge fate deleted\">deleted</span>"),
        "{gone}"
    );
    assert!(
        gone.contains("<time title=\"2026-09-21 14:13:24 UTC\">"),
        "the time of its last event, the delete: {gone}"
    );
    assert!(
        gone.contains("href=\"/ui/items/blog/guid%3Agone\""),
        "its item's page, the key one path segment: {gone}"
    );
    let kept = recent(&html, "pin-theirs");
    assert!(
        kept.contains("<span class=\"badge fate adopted\">adopted</span>"),
        "{kept}"
    );
    let fresh = recent(&html, "pin-fresh");
    assert!(
        fresh.contains("<span class=\"badge fate created\">created</span>"),
        "{fresh}"
    );
}

#[tokio::test]
async fn an_items_page_lists_its_pins_with_their_fates_and_events() {
    let server = start_serving(&["main"], Some(ADMIN), vec![source("blog")]).await;
    let gone = pinned_updated_deleted(&server, "gone").await;
    let answer = server
        .get(&format!(
            "/ui/items/blog/{}",
            gone.key.0.replace(':', "%3A")
        ))
        .await;
    assert_eq!(answer.status(), 200);
    let html = answer.text().await.unwrap();
    assert!(html.contains("Second gone"), "the item's title: {html}");
    assert!(html.contains("data-pin=\"pin-gone\""), "{html}");
    assert!(
        html.contains("<span class=\"badge fate deleted\">deleted</span>"),
        "{html}"
    );
    assert!(
        !html.contains("https://www.pinterest.com/pin/pin-gone/"),
        "a deleted Pin has no link: {html}"
    );
    let events = &html[html.find("class=events").expect("the events")..];
    let (update, delete) = (
        events.find("<td>update</td>").expect("the update"),
        events.find("<td>delete</td>").expect("the delete"),
    );
    assert!(update < delete, "oldest first: {events}");
    assert!(events.contains("<td class=wrap>updated</td>"), "{events}");
    assert!(events.contains("<td class=wrap>deleted</td>"), "{events}");

    let kept = adopted(&server, "kept", "pin-theirs", T0 + 5_000).await;
    let html = server
        .get(&format!("/ui/items/blog/{}", kept.key.0))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<span class=\"badge fate adopted\">adopted</span>"),
        "{html}"
    );
    assert!(
        html.contains("href=\"https://www.pinterest.com/pin/pin-theirs/\""),
        "{html}"
    );
    assert!(html.contains("never updates or deletes it"), "{html}");
    assert!(
        !html.contains("class=events"),
        "nothing followed it: {html}"
    );
}

#[tokio::test]
async fn an_items_page_shows_hostile_text_as_text_and_unknown_items_are_404() {
    let evil_source = "<img src=x onerror=alert(1)>";
    let server = start_serving(&["main"], Some(ADMIN), vec![source(evil_source)]).await;
    let mut hostile = item(evil_source, "k/<i>");
    hostile.title = "<script>alert(2)</script>".into();
    server
        .store
        .ingest(&hostile, plan("<b>Board</b>"), T0)
        .await
        .unwrap();
    finish(&server, "pin\"><i>", None, T0).await;

    let home = server.get("/").await.text().await.unwrap();
    let path = "/ui/items/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/guid%3Ak%2F%3Ci%3E";
    assert!(
        home.contains(&format!("href=\"{path}\"")),
        "source and key are one path segment each: {home}"
    );
    let answer = server.get(path).await;
    assert_eq!(answer.status(), 200);
    let html = answer.text().await.unwrap();
    for raw in ["<script", "<img src=x", "<b>Board", "<i>"] {
        assert!(
            !html.contains(raw),
            "`{raw}` reached the page as markup: {html}"
        );
    }
    for shown in [
        "&lt;script&gt;alert(2)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
        "&lt;b&gt;Board&lt;/b&gt;",
        "guid:k/&lt;i&gt;",
    ] {
        assert!(html.contains(shown), "`{shown}` is shown as text: {html}");
    }

    let unknown = server.get("/ui/items/blog/guid%3Anope").await;
    assert_eq!(unknown.status(), 404);
    let html = unknown.text().await.unwrap();
    assert!(html.contains("No such item"), "{html}");
}

#[tokio::test]
async fn an_anonymous_visitor_gets_the_sign_in_form_not_the_items_page() {
    let server = start_serving(&["main"], Some(ADMIN), vec![source("blog")]).await;
    let gone = pinned_updated_deleted(&server, "gone").await;
    let path = format!("/ui/items/blog/{}", gone.key.0);
    let html = reqwest::get(format!("{}{path}", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<form method=post action=/ui/login>"),
        "{html}"
    );
    for private in ["pin-gone", "Second gone", "Board", "badge fate", "events"] {
        assert!(
            !html.contains(private),
            "`{private}` before sign-in: {html}"
        );
    }
}
