//! The polling base feeds, shops and WebSub share: guarded HTTP fetching (SSRF guard,
//! redirects checked hop by hop, body caps, conditional GET and cache hints), the schedule
//! (interval, jitter, adaptive, backoff), the polling settings, the source lease, the
//! bookkeeping of items missing from a complete listing ([`missing`]), and the one
//! poll loop ([`task::run_loop`]) each source kind plugs into through [`task::Poller`].
//!
//! Nothing here knows a source kind: `feed`, `shop` and `websub` build on it, never the other
//! way round.

mod body;
pub mod cache;
pub mod error;
mod exchange;
pub mod fetch;
pub mod lease;
pub mod missing;
pub mod outcome;
pub mod report;
pub mod schedule;
pub mod settings;
pub mod ssrf;
pub mod task;

pub use error::FeedError;
pub use fetch::{FetchOptions, Fetcher};
pub use report::PollReport;
pub use settings::{Backfill, Polling};
pub use task::{Next, Poller, UpkeepUnreadable, run_loop};
