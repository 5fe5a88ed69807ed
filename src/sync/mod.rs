//! The sync engine: routes items to boards, renders Pin fields, and drives outbox jobs to
//! Pinterest with retries, rate limits and reconciliation.

pub mod account;
pub mod adopt;
pub mod board_pacing;
pub mod boards;
mod ceiling;
pub mod engine;
pub mod link_index;
pub mod pacer;
mod quota;
pub mod reconcile;
pub mod retry;
pub mod route;
pub mod scopes;
// Templates render items and know nothing of the engine; kept reachable under its old path.
pub use crate::template;
pub mod tokens;

pub use account::AccountStatus;
pub use engine::{Engine, RouteRuntime, SyncEvent, SyncSettings};
