//! Deeply nested documents: refused with an error for that feed only, never a stack overflow.
//!
//! A stack overflow aborts the whole process, so the parse that could overflow runs in a child
//! process (this test binary run again on one ignored test), on a thread with the same 2 MiB
//! stack tokio gives its worker and blocking threads. The parent judges how the child ended.

use std::process::Command;

use axum::Router;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::support::feed::{MemStore, ingest, serve, source};
use pinbridge::item::SourceId;
use pinbridge::sources::feed::depth::MAX_NESTING;
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::parse_feed;
use pinbridge::sources::feed::poll_cycle;

const CHILD_ENV: &str = "PINBRIDGE_TEST_DEPTH_CHILD";
/// Tokio's default stack for worker and `spawn_blocking` threads.
const TOKIO_STACK: usize = 2 * 1024 * 1024;

/// An RSS item whose `<media:content>` nests `levels` deep (20,000 levels is about 1 MB).
pub fn nested_media_rss(levels: usize) -> Vec<u8> {
    let mut doc = String::from(
        r#"<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><item><guid>deep</guid><title>deep</title>"#,
    );
    doc.push_str(&r#"<media:content url="https://cdn.example/a.jpg">"#.repeat(levels));
    doc.push_str(&"</media:content>".repeat(levels));
    doc.push_str("</item></channel></rss>");
    doc.into_bytes()
}

fn parse(body: &[u8]) -> Result<usize, String> {
    let url = url::Url::parse("https://feeds.example/feed").expect("url");
    parse_feed(&SourceId::new("deep"), body, None, &url, MinSize::default())
        .map(|p| p.items.len())
        .map_err(|e| e.to_string())
}

/// Not a test of its own: the child side of `a_deeply_nested_feed_does_not_abort_the_process`.
#[test]
#[ignore = "run by a_deeply_nested_feed_does_not_abort_the_process in a child process"]
fn depth_child_parse() {
    let Ok(levels) = std::env::var(CHILD_ENV) else {
        return;
    };
    let levels: usize = levels.parse().expect("levels");
    let body = nested_media_rss(levels);
    let outcome = std::thread::Builder::new()
        .stack_size(TOKIO_STACK)
        .spawn(move || parse(&body))
        .expect("thread")
        .join()
        .expect("the parse panicked");
    println!("CHILD OUTCOME: {outcome:?}");
}

fn run_child(levels: usize) -> (std::process::ExitStatus, String) {
    let out = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "feed_depth::depth_child_parse",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, levels.to_string())
        .output()
        .expect("run the child");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status, text)
}

#[test]
fn a_deeply_nested_feed_does_not_abort_the_process() {
    let (status, output) = run_child(20_000);
    assert!(
        status.success(),
        "the child died ({status}), the parse overflowed its stack:\n{output}"
    );
    assert!(
        output.contains(&format!("nested deeper than {MAX_NESTING}")),
        "the feed is refused with a clear reason:\n{output}"
    );
}

#[test]
fn nesting_up_to_the_limit_still_parses() {
    // rss > channel > item are 3 levels; fill the rest with media:content.
    let fits = nested_media_rss(MAX_NESTING - 3);
    assert_eq!(parse(&fits), Ok(1));
    let err = parse(&nested_media_rss(MAX_NESTING - 2)).expect_err("one too deep");
    assert!(
        err.contains(&format!("nested deeper than {MAX_NESTING}")),
        "{err}"
    );
}

#[test]
fn a_deeply_nested_json_feed_gets_the_same_clear_error() {
    let mut doc = String::from(
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","_x":"#,
    );
    doc.push_str(&"[".repeat(5000));
    doc.push_str(&"]".repeat(5000));
    doc.push_str("}]}");
    let err = parse(doc.as_bytes()).expect_err("too deep");
    assert!(
        err.contains(&format!("nested deeper than {MAX_NESTING}")),
        "{err}"
    );
}

/// The poller: the deep feed's source records the reason; another source polls on.
#[tokio::test]
async fn a_deeply_nested_feed_fails_only_its_own_source() {
    let router = Router::new()
        .route("/deep", get(|| async { nested_media_rss(20_000) }))
        .route(
            "/fine",
            get(|| async { crate::support::feed::fixture("rss2.xml") }),
        );
    let addr = serve(router).await;
    let store = std::sync::Arc::new(MemStore::default());
    let deep = source("deep", &format!("http://{addr}/deep"), |_| {});
    let fine = source("fine", &format!("http://{addr}/fine"), |_| {});
    let (deep_ingest, _) = ingest(store.clone(), "deep");
    let (fine_ingest, _) = ingest(store.clone(), "fine");
    let cancel = CancellationToken::new();
    poll_cycle(&deep, &deep_ingest, &cancel)
        .await
        .expect("state saved");
    poll_cycle(&fine, &fine_ingest, &cancel)
        .await
        .expect("state saved");
    let states = store.states.lock().unwrap().clone();
    let deep_state = &states[&SourceId::new("deep")];
    let error = deep_state.last_error.as_deref().unwrap_or("");
    assert!(
        error.contains(&format!("nested deeper than {MAX_NESTING}")),
        "{deep_state:?}"
    );
    assert_eq!(deep_state.error_count, 1);
    let fine_state = &states[&SourceId::new("fine")];
    assert_eq!(fine_state.last_error, None);
    assert!(fine_state.baselined);
}
