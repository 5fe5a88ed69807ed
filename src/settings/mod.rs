//! What every settings type shares: the problem it reports ([`ConfigProblem`]), the serde
//! helpers that read durations, lists and sections, [`OnChange`] (the one setting the store
//! acts on), and the `[store]` and `[[accounts]]` sections the store and the token setup read.
//! It imports nothing else from pinbridge, so the config loader, the sources, the store and
//! the sync engine can all use it without depending on each other.

mod on_change;
mod problem;
mod sections;
pub mod serde_util;

pub use on_change::{OnChange, OnDelete, UpdateFallback};
pub use problem::ConfigProblem;
pub use sections::{AccountConfig, Compression, Engine, StoreConfig};
pub use serde_util::{duration, join, one_or_many, opt_duration, parse_section, parse_value};
