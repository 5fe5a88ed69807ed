//! The status page's Pin analytics in a real browser (headless Chromium, as `ops_browser`):
//! signed in, the page shows a drawn chart per source and a table whose per-source figures are
//! the ones recorded in the store, read back from the rendered page (the DOM, under the page's
//! CSP) rather than from the HTML text. Keeps a screenshot at
//! `<target dir>/test-artifacts/status-page-analytics.png`.

use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::page::ScreenshotParams;

use crate::support::analytics::{day_of, sample};
use crate::support::browser::{Chromium, artifact_dir, html_when, sign_in};
use crate::support::ops::{ADMIN, T0, start};

#[tokio::test]
async fn chromium_shows_a_chart_and_the_recorded_figures_per_source() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let server = start(&["main"], true).await;
    server
        .store
        .record_pin_days(&sample(day_of(T0)))
        .await
        .unwrap();

    let page = chromium
        .browser
        .new_page(format!("{}/", server.base))
        .await
        .unwrap();
    html_when(&page, "the login form", |h| h.contains("id=\"login\"")).await;
    sign_in(&page, ADMIN).await;
    html_when(&page, "the analytics table after sign-in", |h| {
        h.contains("id=\"analytics\"") && h.contains("id=\"dead-section\"")
    })
    .await;
    page.execute(SetDeviceMetricsOverrideParams::new(1280, 900, 1.0, false))
        .await
        .unwrap();

    // Each table row's cells as the browser lays them out.
    let rows: String = page
        .evaluate(
            "JSON.stringify([...document.querySelectorAll('#analytics tr')].slice(1)\
             .map(r => [...r.cells].map(c => c.innerText.trim())))",
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let rows: Vec<Vec<String>> = serde_json::from_str(&rows).unwrap();
    assert_eq!(
        rows,
        [
            ["blog", "2", "400", "8", "27", "10", "2.50%"],
            ["shop", "1", "50", "2", "9", "5", "10.00%"],
            ["total", "3", "450", "10", "36", "15", "3.33%"],
        ],
        "the figures recorded in the store, summed by hand"
    );

    // A chart per source, drawn: both lines have a size on screen and their own colours.
    let charts: String = page
        .evaluate(
            "JSON.stringify([...document.querySelectorAll('figure.analytics-chart')].map(f => {\
               const seen = f.querySelector('polyline.impressions').getBoundingClientRect();\
               const clicks = f.querySelector('polyline.clicks');\
               return [f.dataset.source, Math.round(seen.width), Math.round(clicks.getBoundingClientRect().width),\
                       getComputedStyle(clicks).stroke !== getComputedStyle(f.querySelector('polyline.impressions')).stroke];\
             }))",
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    let charts: Vec<(String, i64, i64, bool)> = serde_json::from_str(&charts).unwrap();
    assert_eq!(
        charts.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
        ["blog", "shop"]
    );
    for (source, seen, clicks, coloured) in &charts {
        assert!(
            *seen > 100 && *clicks > 100,
            "{source}: lines drawn {seen}×{clicks}"
        );
        assert!(coloured, "{source}: the two lines look different");
    }

    let dir = artifact_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("status-page-analytics.png");
    let section = page.find_element("#analytics-section").await.unwrap();
    section.scroll_into_view().await.unwrap();
    let png = page
        .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &shot)
        .await
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG was written");
    eprintln!("screenshot: {}", shot.display());
    chromium.close().await;
}
