//! The status page in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol. Loads `/` (only a sign-in form), signs in with the admin token, clicks a dead
//! letter's retry button and checks the job is pending again, in the store and on the page.
//! The browser sends its own Origin and session cookie, and honours the page's CSP. Then the
//! same page on a phone-sized screen (390×844) must not scroll sideways. Keeps screenshots at
//! `<target dir>/test-artifacts/status-page.png` (desktop) and `status-page-phone.png`.
//!
//! Chromium comes from `tests/browser/setup.sh`. Without it the test is skipped with a message,
//! except under `CI=true`, where a missing browser fails the test.

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::page::ScreenshotParams;
use pinbridge::http::SourceInfo;
use pinbridge::item::SourceId;
use pinbridge::store::{JobId, JobState, SourceState};

use crate::support::browser::{Chromium, artifact_dir, html_when, sign_in};
use crate::support::ops::{ADMIN, Server, T0, start_serving};

const THUMBNAIL: &str = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 4 3'>\
    <rect width='4' height='3' fill='#e9b44c'/><circle cx='2' cy='1.5' r='1' fill='#9b2915'/></svg>";

/// A store with what makes a page wide on a phone: long names, a long unbroken error, a
/// blocked account, several sources.
async fn busy_server() -> Server {
    let sources = [
        "blog",
        "shop-with-a-rather-long-identifier-for-its-products",
        "hooks",
    ]
    .iter()
    .map(|id| SourceInfo {
        id: id.to_string(),
        kind: "feed".into(),
        paused: false,
    })
    .collect();
    let server = start_serving(&["main", "second-account"], Some(ADMIN), sources).await;
    let failing = SourceState {
        last_poll: Some(T0 - 240_000),
        next_poll: Some(T0 + 600_000),
        error_count: 3,
        last_error: Some(format!(
            "fetching https://example.com/{} failed",
            "x".repeat(120)
        )),
        ..SourceState::default()
    };
    let id = SourceId::new("shop-with-a-rather-long-identifier-for-its-products");
    server.store.set_source_state(&id, &failing).await.unwrap();
    // A Pin whose thumbnail the browser can show without a network (the CSP allows data:).
    let mut item = crate::support::ops::item("blog", "with-thumbnail");
    item.title = "Autumn sale: everything must go".into();
    item.image_url = Some(format!(
        "data:image/svg+xml,{}",
        THUMBNAIL.replace('#', "%23")
    ));
    let plan = crate::support::ops::plan("Board");
    server.store.ingest(&item, plan, T0).await.unwrap();
    let lease = server
        .store
        .claim(1, 60_000, T0)
        .await
        .unwrap()
        .pop()
        .unwrap();
    server
        .store
        .complete(&lease, "pin-7", T0 - 3_600_000)
        .await
        .unwrap();
    server
        .store
        .block_account("second-account", T0 + 1_800_000)
        .await
        .unwrap();
    server
}

/// The document's width and the viewport's, as the browser measures them.
async fn widths(page: &Page) -> (i64, i64) {
    let measured: String = page
        .evaluate("JSON.stringify([document.documentElement.scrollWidth, window.innerWidth])")
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let [document, viewport]: [i64; 2] = serde_json::from_str(&measured).unwrap();
    (document, viewport)
}

async fn screenshot(page: &Page, name: &str) {
    let dir = artifact_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join(name);
    let png = page
        .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &shot)
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG was written");
    eprintln!("screenshot: {}", shot.display());
}

#[tokio::test]
async fn chromium_signs_in_and_retries_a_dead_letter_from_the_status_page() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let server = busy_server().await;
    let dead = server.job_ending("a", Some("board not found"), None).await;
    server.job_ending("b", None, Some("pin-42")).await;
    // One that stays dead, so the screenshots show a failure too.
    let stays = server
        .job_ending("c", Some("the image could not be fetched: 403"), None)
        .await;

    let browser = &chromium.browser;

    let page = browser.new_page(format!("{}/", server.base)).await.unwrap();
    let html = html_when(&page, "the login form", |h| h.contains("id=\"login\"")).await;
    assert!(
        !html.contains("board not found") && !html.contains("pin-42"),
        "nothing private before sign-in: {html}"
    );
    assert!(
        !html.contains("class=\"retry\""),
        "no retry button before sign-in"
    );

    sign_in(&page, ADMIN).await;
    let html = html_when(&page, "the retry button after sign-in", |h| {
        h.contains(&format!("data-job=\"{dead}\""))
    })
    .await;
    assert!(html.contains("board not found"), "the failure is listed");
    assert!(html.contains("pin-42"), "recent Pins are listed");

    page.find_element(format!("button.retry[data-job=\"{dead}\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The page is read while the browser may still be parsing it: wait for the last section
    // (the other dead letter) too, or a half-read page looks like one without failures.
    let html = html_when(
        &page,
        "the job back in the queue, the other dead letter still listed",
        |h| {
            h.contains("data-state=\"pending\">pending <b>1</b>")
                && !h.contains(&format!("data-job=\"{dead}\""))
                && h.contains(&format!("data-job=\"{stays}\""))
        },
    )
    .await;
    assert!(!html.contains("board not found"), "the dead letter is gone");

    let job = server
        .store
        .job(&JobId(dead.clone()))
        .await
        .unwrap()
        .expect("the job still exists");
    assert!(
        matches!(job.state, JobState::Pending { .. }),
        "job {dead} is {:?}",
        job.state
    );

    assert!(
        html.contains("Connect Pinterest account"),
        "each account card offers to connect it"
    );
    let desktop = SetDeviceMetricsOverrideParams::new(1280, 900, 1.0, false);
    page.execute(desktop).await.unwrap();
    let (document, viewport) = widths(&page).await;
    assert_eq!(viewport, 1280, "the desktop viewport is in force");
    assert!(document <= viewport, "desktop: {document} > {viewport}");
    screenshot(&page, "status-page.png").await;

    // A phone: the cards stack, tables scroll inside their box, the page itself never sideways.
    let phone = SetDeviceMetricsOverrideParams::builder()
        .width(390)
        .height(844)
        .device_scale_factor(2.0)
        .mobile(true)
        .build()
        .unwrap();
    page.execute(phone).await.unwrap();
    page.reload().await.unwrap();
    html_when(&page, "the page again on a phone", |h| {
        h.contains("id=\"sources\"")
    })
    .await;
    let (document, viewport) = widths(&page).await;
    assert_eq!(viewport, 390, "the phone's viewport is in force");
    assert!(
        document <= viewport,
        "phone: the page is {document} px wide on a {viewport} px screen"
    );
    screenshot(&page, "status-page-phone.png").await;

    chromium.close().await;
}
