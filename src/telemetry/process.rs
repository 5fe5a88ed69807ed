//! The standard Prometheus process metrics (`process_resident_memory_bytes`,
//! `process_cpu_seconds_total`, `process_open_fds`, `process_max_fds`,
//! `process_start_time_seconds`, `process_threads`, ...), under the names every dashboard
//! expects.
//!
//! They come from the `metrics-process` crate (it reads `/proc/self` on Linux and records into
//! the same `metrics` recorder), rather than a hand-written `/proc` parser: it is maintained,
//! follows the Prometheus client conventions (names, units, CPU as a counter) and covers other
//! platforms for local runs. The figures are read at scrape time, so they are never stale and
//! cost nothing between scrapes.

/// Reads the process figures into the installed recorder.
#[derive(Clone, Debug, Default)]
pub struct ProcessMetrics {
    collector: metrics_process::Collector,
}

impl ProcessMetrics {
    /// Describe the process metrics (their `# HELP` lines) and take a first reading, so a
    /// scrape right after start-up already shows them.
    pub fn describe(&self) {
        self.collector.describe();
        self.collector.collect();
    }

    /// Take a fresh reading; call just before rendering a scrape.
    pub fn collect(&self) {
        self.collector.collect();
    }
}
