//! Integration tests: one binary, one module per area.

mod feed_fetch;
mod feed_fuzz;
mod feed_parse;
mod feed_poller;
mod feed_ssrf;
mod feed_support;
