//! The catalogue of every `pinbridge_*` metric: kind, unit and the `# HELP` text a scrape
//! shows. Metrics are recorded where things happen, all over the crate; describing them here,
//! in one list, keeps the help texts consistent and lets a test check that none is missing.

use metrics::Unit;

/// What kind of metric a name is, which decides the `describe_*` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric as a scrape describes it.
#[derive(Clone, Copy, Debug)]
pub struct MetricInfo {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<Unit>,
    pub help: &'static str,
}

const fn metric(
    name: &'static str,
    kind: Kind,
    unit: Option<Unit>,
    help: &'static str,
) -> MetricInfo {
    MetricInfo {
        name,
        kind,
        unit,
        help,
    }
}

use Kind::{Counter, Gauge, Histogram};

/// Every metric pinbridge records, in alphabetical order.
pub const CATALOG: &[MetricInfo] = &[
    metric(
        "pinbridge_account_attention_total",
        Counter,
        Some(Unit::Count),
        "Times an account was held until someone acts (revoked token, missing board), by account.",
    ),
    metric(
        "pinbridge_account_held",
        Gauge,
        None,
        "1 while an account is held waiting for someone to act, 0 once it is released, by account.",
    ),
    metric(
        "pinbridge_account_usable",
        Gauge,
        None,
        "1 while an account can create Pins, 0 while it needs attention (readiness stays up then: alert on this), by account.",
    ),
    metric(
        "pinbridge_analytics_impressions",
        Gauge,
        Some(Unit::Count),
        "Impressions of the Pins pinbridge made over the last 30 days as Pinterest reports them, by source (refreshed by a scrape at most every 5 minutes).",
    ),
    metric(
        "pinbridge_analytics_outbound_clicks",
        Gauge,
        Some(Unit::Count),
        "Outbound clicks (to the Pin's link) of the Pins pinbridge made over the last 30 days as Pinterest reports them, by source (refreshed by a scrape at most every 5 minutes).",
    ),
    metric(
        "pinbridge_analytics_pin_clicks",
        Gauge,
        Some(Unit::Count),
        "Pin clicks of the Pins pinbridge made over the last 30 days as Pinterest reports them, by source (refreshed by a scrape at most every 5 minutes).",
    ),
    metric(
        "pinbridge_analytics_pins",
        Gauge,
        Some(Unit::Count),
        "Pins pinbridge made that have figures in the last 30 days, by source (refreshed by a scrape at most every 5 minutes).",
    ),
    metric(
        "pinbridge_analytics_requests_total",
        Counter,
        Some(Unit::Count),
        "Pin analytics calls to Pinterest, by account and outcome (ok, rate_limited, refused, not_found, failed).",
    ),
    metric(
        "pinbridge_analytics_rows_total",
        Counter,
        Some(Unit::Count),
        "Daily Pin analytics rows stored (a day fetched again counts again), by account.",
    ),
    metric(
        "pinbridge_analytics_saves",
        Gauge,
        Some(Unit::Count),
        "Saves of the Pins pinbridge made over the last 30 days as Pinterest reports them, by source (refreshed by a scrape at most every 5 minutes).",
    ),
    metric(
        "pinbridge_build_info",
        Gauge,
        None,
        "Always 1; the labels name the running version and the git commit it was built from.",
    ),
    metric(
        "pinbridge_draining",
        Gauge,
        None,
        "1 while the service is shutting down (readiness fails), else 0.",
    ),
    metric(
        "pinbridge_feed_items_over_cap_total",
        Counter,
        Some(Unit::Count),
        "New feed items recorded as seen but not pinned because they passed the per-poll cap, by source.",
    ),
    metric(
        "pinbridge_http_connections_refused_total",
        Counter,
        Some(Unit::Count),
        "Connections refused because the server was at its connection limit.",
    ),
    metric(
        "pinbridge_items",
        Gauge,
        Some(Unit::Count),
        "Items in the store (read from the store at scrape time).",
    ),
    metric(
        "pinbridge_items_ingested_total",
        Counter,
        Some(Unit::Count),
        "Items offered to the store, by source and outcome (new, changed, duplicate, skipped).",
    ),
    metric(
        "pinbridge_items_removed_total",
        Counter,
        Some(Unit::Count),
        "Items deleted or unpublished at their source (a delete signal from a webhook), by source.",
    ),
    metric(
        "pinbridge_jobs",
        Gauge,
        Some(Unit::Count),
        "Pin jobs in the store by state (read from the store at scrape time).",
    ),
    metric(
        "pinbridge_link_duplicates_total",
        Counter,
        Some(Unit::Count),
        "Pins not created because the board already had a Pin with the same link, by account.",
    ),
    metric(
        "pinbridge_pin_retries_total",
        Counter,
        Some(Unit::Count),
        "Pin creations that failed and were scheduled to retry.",
    ),
    metric(
        "pinbridge_pins_followed_total",
        Counter,
        Some(Unit::Count),
        "Update and delete jobs finished on a Pin pinbridge made, by account and kind (update, delete).",
    ),
    metric(
        "pinbridge_pins_total",
        Counter,
        Some(Unit::Count),
        "Pin jobs finished, by account and outcome (created, reconciled, failed).",
    ),
    metric(
        "pinbridge_pinterest_request_seconds",
        Histogram,
        Some(Unit::Seconds),
        "Pinterest API request duration in seconds, by method and status.",
    ),
    metric(
        "pinbridge_polls_total",
        Counter,
        Some(Unit::Count),
        "Feed polls, by source and result (ok, failed, cancelled, store_error).",
    ),
    metric(
        "pinbridge_rate_limit_waits_total",
        Counter,
        Some(Unit::Count),
        "Times Pin creation waited for Pinterest's rate limit, by account and kind (quota, 429).",
    ),
    metric(
        "pinbridge_reconcile_undecided_total",
        Counter,
        Some(Unit::Count),
        "Reconcile checks that could not yet tell whether a job's Pin exists (checked again later), by account.",
    ),
    metric(
        "pinbridge_store_compacted_total",
        Counter,
        Some(Unit::Count),
        "Records whose payload retention dropped (`[store] keep_payloads`), by kind: item or job.",
    ),
    metric(
        "pinbridge_store_deliveries_expired_total",
        Counter,
        Some(Unit::Count),
        "Webhook delivery ids and replay guards dropped once their horizon passed.",
    ),
    metric(
        "pinbridge_store_flush_failures_total",
        Counter,
        Some(Unit::Count),
        "Failed flushes of the store to disk (after one, the store refuses writes).",
    ),
    metric(
        "pinbridge_store_quarantined",
        Gauge,
        Some(Unit::Count),
        "Store records set aside because they could not be read (read at scrape time).",
    ),
    metric(
        "pinbridge_store_size_bytes",
        Gauge,
        Some(Unit::Bytes),
        "Size of the store on disk in bytes (read at scrape time).",
    ),
    metric(
        "pinbridge_webhook_requests_total",
        Counter,
        Some(Unit::Count),
        "Inbound webhook deliveries, by outcome.",
    ),
];

/// Describe every metric to the installed recorder, and start label-less counters at 0 so a
/// scrape right after start-up shows them (an absent series and a zero look different to
/// alerting rules such as `increase()`).
pub fn describe_all() {
    for info in CATALOG {
        let (name, help) = (info.name, info.help);
        match (info.kind, info.unit) {
            (Kind::Counter, Some(unit)) => metrics::describe_counter!(name, unit, help),
            (Kind::Counter, None) => metrics::describe_counter!(name, help),
            (Kind::Gauge, Some(unit)) => metrics::describe_gauge!(name, unit, help),
            (Kind::Gauge, None) => metrics::describe_gauge!(name, help),
            (Kind::Histogram, Some(unit)) => metrics::describe_histogram!(name, unit, help),
            (Kind::Histogram, None) => metrics::describe_histogram!(name, help),
        }
    }
    for name in LABEL_LESS_COUNTERS {
        metrics::counter!(*name).increment(0);
    }
}

/// The counters recorded without labels: the only ones whose one series is known up front.
pub const LABEL_LESS_COUNTERS: &[&str] = &[
    "pinbridge_http_connections_refused_total",
    "pinbridge_pin_retries_total",
    "pinbridge_store_deliveries_expired_total",
    "pinbridge_store_flush_failures_total",
];

#[cfg(test)]
mod tests;
