//! Logging through `tracing`: human-readable on a terminal, JSON otherwise or when
//! `PINBRIDGE_LOG_FORMAT=json`. The level comes from `PINBRIDGE_LOG` (or `RUST_LOG`), e.g.
//! `info,pinbridge=debug`. Metrics go to one process-wide Prometheus recorder, described by
//! [`metrics_catalog`], with the build info and the standard `process_*` figures beside them.

pub mod build_info;
pub mod metrics_catalog;
pub mod process;

use std::io::IsTerminal;

pub use build_info::LONG_VERSION;
pub use process::ProcessMetrics;

use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `default_level` applies when no filter variable is set.
pub fn init(default_level: &str) {
    let filter = std::env::var("PINBRIDGE_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default_level));
    let json = match std::env::var("PINBRIDGE_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    // A second init (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The process-wide Prometheus recorder, installed on first use (every test and the server
/// share it; metric labels such as the source id keep their figures apart). `None` if another
/// recorder was installed first. Installing it also describes every metric (their `# HELP`
/// lines), starts the label-less counters at 0 and records the build info.
pub fn metrics_handle() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
                )
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    metrics_catalog::describe_all();
                    build_info::record();
                    ProcessMetrics::default().describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Metrics are off: a recorder was already installed.");
                    None
                }
            }
        })
        .clone()
}
