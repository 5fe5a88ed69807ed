//! Pin analytics rolled up: the collected daily rows per Pin ([`PinDay`]) summed by source,
//! route, board, category or template over a period, with the click-through rate and a per-day
//! series per source for charts. Pure functions over rows already read: the callers (`pinbridge
//! report`, the admin API, the status page, the metrics) read `Analytics::pin_days` for the
//! period and hand the rows here, so every view shows the same figures.
//!
//! - [`period`]: which UTC days a period covers (`30d`, or a from/to date pair).
//! - [`group`]: the roll-up itself.
//! - [`table`]: the roll-up as a text table or CSV, as `pinbridge report` and the demo print it.

pub mod group;
pub mod period;
pub mod table;
#[cfg(test)]
mod tests;

pub use group::{DayFigures, Dimension, Group, Rollup, RouteTemplates, SourceSeries, roll_up};
pub use period::{Period, PeriodError};
