//! Where items come from: feeds, shops and webhooks. Each hands `Item`s to `crate::ingest`
//! through its [`crate::ingest::SourceContext`]; feeds, shops and WebSub poll on the shared
//! [`poll`] base.
pub mod feed;
pub mod opml;
pub mod poll;
pub mod shop;
pub mod webhook;
pub mod websub;

/// The source lease under its old path (it is part of the polling base now).
pub use poll::lease;
