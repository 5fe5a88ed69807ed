//! The status page in a real browser: Debian's Chromium, headless, driven over the DevTools
//! protocol. Loads `/` (only a sign-in form), signs in with the admin token, clicks a dead
//! letter's retry button and checks the job is pending again, in the store and on the page.
//! The browser sends its own Origin and session cookie, and honours the page's CSP. Keeps a screenshot at
//! `<target dir>/test-artifacts/status-page.png`.
//!
//! Chromium comes from `tests/browser/setup.sh`. Without it the test is skipped with a message,
//! except under `CI=true`, where a missing browser fails the test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::page::ScreenshotParams;
use futures::StreamExt;
use pinbridge::store::{JobId, JobState};

use crate::support::ops::{ADMIN, start};

/// `PINBRIDGE_CHROMIUM`, else the first Chromium or Chrome on `PATH`.
pub fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINBRIDGE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "chrome"];
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Where test artifacts go: `test-artifacts/` beside cargo's `tmp/` in the target directory.
pub fn artifact_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(&tmp).join("test-artifacts")
}

/// Read the page until `done` holds for its HTML (navigations finish on the browser's time).
pub async fn html_when(page: &Page, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let html = page.content().await.unwrap_or_default();
        if done(&html) {
            return html;
        }
        assert!(
            Instant::now() < deadline,
            "page never showed {what}: {html}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn chromium_signs_in_and_retries_a_dead_letter_from_the_status_page() {
    let Some(executable) = chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Chromium is missing: run tests/browser/setup.sh (CI needs it for this test)"
        );
        eprintln!("SKIPPED: no Chromium on PATH; run tests/browser/setup.sh to enable this test");
        return;
    };
    let server = start(&["main"], true).await;
    let dead = server.job_ending("a", Some("board not found"), None).await;
    server.job_ending("b", None, Some("pin-42")).await;

    let profile = tempfile::tempdir().unwrap();
    let config = BrowserConfig::builder()
        .chrome_executable(&executable)
        // Tests run as root in containers, where Chromium's sandbox cannot start.
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1100, 800)
        .arg("--disable-gpu")
        .arg("--disable-dev-shm-usage")
        .launch_timeout(Duration::from_secs(60))
        .request_timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (mut browser, mut handler) = Browser::launch(config)
        .await
        .unwrap_or_else(|e| panic!("starting {}: {e}", executable.display()));
    // The handler drives the DevTools connection; events it cannot decode are not fatal.
    let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });

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

    page.find_element("#token")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str(ADMIN)
        .await
        .unwrap();
    page.find_element("#login")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
    let html = html_when(&page, "the job back in the queue", |h| {
        h.contains("pending: 1") && !h.contains("class=\"retry\"")
    })
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

    let dir = artifact_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("status-page.png");
    let png = page
        .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &shot)
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG was written");
    eprintln!("screenshot: {}", shot.display());

    browser.close().await.unwrap();
    browser.wait().await.unwrap();
    driver.await.unwrap();
}
