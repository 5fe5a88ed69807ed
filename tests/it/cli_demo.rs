//! `pinbridge demo` through the real binary, as CI and a first-time user run it: it exits 0,
//! prints the Pins it made, and ends with the Pin analytics collected from the sandbox for
//! them, rolled up per source with figures that are not all zero.

use std::process::Command;

use crate::support::binary::{binary, output_text};

/// The figures of the report line starting with `key`: pins, impressions, saves, Pin clicks,
/// outbound clicks.
fn figures(report: &str, key: &str) -> Option<Vec<u64>> {
    report.lines().find_map(|line| {
        let mut cells = line.split_whitespace();
        (cells.next() == Some(key)).then(|| cells.take(5).map(|c| c.parse().unwrap()).collect())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_makes_pins_and_ends_with_a_report_per_source() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(binary())
            .args(["demo", "--data-dir", data.to_str().unwrap()])
            .env_remove("PINBRIDGE_CONFIG")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = output_text(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("📌 Pin "), "{text}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = &stdout[stdout
        .find("Pin analytics by source")
        .unwrap_or_else(|| panic!("no report in: {stdout}"))..];
    for source in ["kitchen-blog", "shop", "total"] {
        let line = figures(report, source).unwrap_or_else(|| panic!("no {source} line: {report}"));
        assert!(line[0] > 0, "{source} has Pins: {report}");
        assert!(line[1] > 0, "{source} has impressions: {report}");
    }
    let total = figures(report, "total").unwrap();
    assert!(total[4] > 0, "some outbound clicks: {report}");
}
