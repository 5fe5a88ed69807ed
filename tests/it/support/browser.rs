//! Headless Chromium for the page tests: finding the browser, starting it the way this
//! machine allows, signing in to the status page, waiting for a page, and where screenshots go.
//!
//! Chromium comes from `tests/browser/setup.sh`. Without it a test is skipped with a message,
//! except under `CI=true`, where a missing browser fails the test.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use chromiumoxide::browser::{Browser, BrowserConfig};
use futures::StreamExt;
use tempfile::TempDir;
use tokio::task::JoinHandle;

/// `PINBRIDGE_CHROMIUM`, else the first Chromium or Chrome on `PATH`.
fn executable() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PINBRIDGE_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "chrome"];
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A running headless browser with its own empty profile.
pub struct Chromium {
    pub browser: Browser,
    /// Drives the DevTools connection; events it cannot decode are not fatal.
    driver: JoinHandle<()>,
    _profile: TempDir,
}

impl Chromium {
    /// Starts Chromium, or says why the test is skipped (`None`); under `CI=true` a missing
    /// browser fails instead.
    pub async fn start() -> Option<Chromium> {
        let Some(executable) = executable() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "Chromium is missing: run tests/browser/setup.sh (CI needs it for this test)"
            );
            eprintln!(
                "SKIPPED: no Chromium on PATH; run tests/browser/setup.sh to enable this test"
            );
            return None;
        };
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
        let (browser, mut handler) = Browser::launch(config)
            .await
            .unwrap_or_else(|e| panic!("starting {}: {e}", executable.display()));
        let driver = tokio::spawn(async move { while handler.next().await.is_some() {} });
        Some(Chromium {
            browser,
            driver,
            _profile: profile,
        })
    }

    /// Closes the browser and waits for it to exit.
    pub async fn close(mut self) {
        self.browser.close().await.unwrap();
        self.browser.wait().await.unwrap();
        self.driver.await.unwrap();
    }
}

/// Types the admin token into the status page's sign-in form and submits it.
pub async fn sign_in(page: &Page, token: &str) {
    page.find_element("#token")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str(token)
        .await
        .unwrap();
    page.find_element("#login")
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
