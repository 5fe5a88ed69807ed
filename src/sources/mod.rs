//! Where items come from: feeds, shops and webhooks. Each hands `Item`s to `crate::ingest`.
pub mod feed;
pub mod lease;
pub mod opml;
pub mod shop;
pub mod webhook;
pub mod websub;
