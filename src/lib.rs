//! pinbridge turns new feed items, shop listings and CMS webhooks into Pinterest Pins, once.
//!
//! # Layout
//! - [`item`]: the normalized `Item` every source produces.
//! - [`sources`]: feed, shop and webhook sources; they hand items to [`ingest`].
//! - [`ingest`]: the one door into the store: routes + dedup + outbox in one durable step.
//! - [`store`]: the semantic store (sled embedded default).
//! - [`sync`]: the engine that turns outbox jobs into Pins.
//! - [`pinterest`]: the API v5 client and the local sandbox.
//! - [`config`]: settings, loading and validation.

pub mod clock;
pub mod config;
pub mod ingest;
pub mod item;
pub mod pinterest;
pub mod sources;
pub mod store;
pub mod sync;
