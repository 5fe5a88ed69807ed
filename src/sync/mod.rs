//! The sync engine: routes items to boards, renders Pin fields, and drives outbox jobs to
//! Pinterest with retries, rate limits and reconciliation.

pub mod route;
pub mod template;
