//! pinbridge turns new feed items, shop listings and CMS webhooks into Pinterest Pins, once.
//!
//! # Layout
//! - [`item`]: the normalized `Item` every source produces.
//! - [`sources`]: feed, shop and webhook sources; they hand items to [`ingest`].
//! - [`ingest`]: the one door into the store: routes + dedup + outbox in one durable step.
//! - [`routing`]: the configured routes as the rules ingest matches items against.
//! - [`store`]: the semantic store (sled embedded default).
//! - [`sync`]: the engine that turns outbox jobs into Pins.
//! - [`analytics`]: collecting the daily figures of the Pins pinbridge made.
//! - [`template`]: a route's Pin text templates, rendered from items.
//! - [`rollup`]: Pin analytics summed by source, route, board, category or template.
//! - [`pinterest`]: the API v5 client and the local sandbox.
//! - [`config`]: settings, loading and validation.
//! - [`settings`]: the problem type and serde helpers every settings type shares.
//! - [`app`], [`http`], [`commands`], [`demo`]: assembling and running the service.

pub mod analytics;
pub mod app;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod http;
pub mod ingest;
pub mod item;
pub mod live;
pub mod pinterest;
pub mod redact;
pub mod retry_after;
pub mod rollup;
pub mod routing;
pub mod settings;
pub mod shutdown;
pub mod sources;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod template;
