//! What an operator's scrape and log show: every `pinbridge_*` metric with its `# HELP`, the
//! build info, the standard `process_*` figures, and one log line per request carrying the
//! request id, status and duration (probes only at debug, callback tokens never).

use tokio_util::sync::CancellationToken;

use crate::support::binary::{OPS_ADMIN, sandbox, spawn_binary};
use crate::support::ops;

/// The metric a sample line belongs to: histogram and summary series share their family's help.
fn family(sample: &str) -> &str {
    let name = sample.split(['{', ' ']).next().unwrap_or(sample);
    ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .filter(|base| base.ends_with("_seconds"))
        .unwrap_or(name)
}

#[tokio::test]
async fn a_scrape_describes_every_metric_and_shows_build_and_process_figures() {
    let server = ops::start(&["main"], true).await;
    let response = server.get("/metrics").await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();

    let samples: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("pinbridge_") || l.starts_with("process_"))
        .collect();
    for sample in &samples {
        let name = family(sample);
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no # HELP line in\n{text}"
        );
    }
    // Every catalogued metric that is in the scrape is described with the catalogue's text.
    for info in pinbridge::telemetry::metrics_catalog::CATALOG {
        if samples.iter().any(|s| family(s) == info.name) {
            assert!(
                text.contains(&format!("# HELP {} {}", info.name, info.help)),
                "{}: wrong help in\n{text}",
                info.name
            );
        }
    }
    // Present from start-up, even with nothing counted yet.
    for name in pinbridge::telemetry::metrics_catalog::LABEL_LESS_COUNTERS {
        assert!(
            samples.iter().any(|s| family(s) == *name),
            "{name} missing from\n{text}"
        );
    }
    let build = samples
        .iter()
        .find(|s| s.starts_with("pinbridge_build_info{"))
        .unwrap_or_else(|| panic!("no build info in\n{text}"));
    assert!(
        build.contains(&format!("version=\"{}\"", env!("CARGO_PKG_VERSION"))),
        "{build}"
    );
    assert!(build.contains("commit=\""), "{build}");
    assert!(build.ends_with(" 1"), "{build}");

    let value = |name: &str| -> f64 {
        samples
            .iter()
            .find(|s| s.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(value("process_resident_memory_bytes") > 0.0);
    assert!(value("process_open_fds") > 0.0);
    assert!(value("process_threads") >= 1.0);
    assert!(value("process_start_time_seconds") > 1_600_000_000.0);
    assert!(value("process_cpu_seconds_total") >= 0.0);
}

#[tokio::test]
async fn each_request_logs_one_line_with_id_status_and_duration_probes_at_debug() {
    // The real binary: its log is what an operator reads (JSON on stderr, level info).
    let stop = CancellationToken::new();
    let (api, token) = sandbox(&stop).await;
    let mut app = spawn_binary(&api, &token).await;
    let sources = app
        .client
        .get(format!("{}/api/v1/sources", app.base))
        .bearer_auth(OPS_ADMIN)
        .header("x-request-id", "req-observe-1")
        .send()
        .await
        .unwrap();
    assert_eq!(sources.status(), 200);
    let health = app.client.get(format!("{}/healthz", app.base));
    assert_eq!(health.send().await.unwrap().status(), 200);
    let scrape = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(OPS_ADMIN)
        .send()
        .await
        .unwrap();
    let scrape = scrape.text().await.unwrap();
    assert!(scrape.contains("# HELP pinbridge_build_info "), "{scrape}");
    let secret = "callback-token-never-logged";
    let callback = app.client.get(format!("{}/websub/blog/{secret}", app.base));
    let _ = callback.send().await.unwrap();
    assert_eq!(app.stop().await.code(), Some(0));
    stop.cancel();

    let log = std::fs::read_to_string(app.dir.path().join("stderr.log")).unwrap();
    let answered: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "Request answered.")
        .collect();
    let line = answered
        .iter()
        .find(|l| l["span"]["request_id"] == "req-observe-1")
        .unwrap_or_else(|| panic!("no request line with the caller's id in\n{log}"));
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(line["duration_ms"].as_f64().is_some(), "{line}");
    assert_eq!(line["span"]["method"], "GET", "{line}");
    assert_eq!(line["span"]["path"], "/api/v1/sources", "{line}");
    assert_eq!(
        answered
            .iter()
            .filter(|l| l["span"]["request_id"] == "req-observe-1")
            .count(),
        1,
        "one line per request:\n{log}"
    );

    // Probes and scrapes stay out of the info log.
    for probe in ["/healthz", "/readyz", "/metrics"] {
        assert!(
            !answered.iter().any(|l| l["span"]["path"] == probe),
            "{probe} logged at info:\n{log}"
        );
    }
    // Other requests get a generated id; a callback's token never reaches the log.
    let callback = answered
        .iter()
        .find(|l| {
            l["span"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/websub/blog/"))
        })
        .unwrap_or_else(|| panic!("no line for the callback request in\n{log}"));
    assert_ne!(callback["span"]["request_id"], "-", "{callback}");
    assert!(
        !log.contains(secret),
        "a callback token reached the log:\n{log}"
    );
}
