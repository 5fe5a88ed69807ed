//! Pin analytics collection: for every account, a scheduled and resumable task that fetches
//! the daily figures of the Pins pinbridge made and stores them, with what made each Pin, as
//! `PinDay` rows (`store::Analytics`).
//!
//! - `schedule.rs` decides which Pins are due and which days to ask for (pure, tested alone):
//!   Pins younger than a week every run, up to a month daily, older weekly, none past
//!   `lookback`.
//! - `discover.rs` finds new Pins among the done create jobs and watches them.
//! - `pace.rs` keeps the calls within the `org_analytics` quota, apart from the write quota.
//! - `collector.rs` runs it: one collector per account at a time across replicas (a store
//!   lease), the batch call while the app may use it, one Pin a call after a refusal.

mod collector;
mod discover;
mod pace;
mod schedule;

pub use collector::{AnalyticsSettings, Collector};
