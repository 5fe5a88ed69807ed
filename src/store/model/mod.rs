//! The store's shared vocabulary: the types every backend reads and writes, whatever its
//! storage.

mod analytics;
mod items;
mod jobs;
mod links;
mod records;
mod transfer;

pub use analytics::*;
pub use items::*;
pub use jobs::*;
pub use links::*;
pub use records::*;
pub use transfer::*;

// Time is the clock's type; re-exported so store callers keep one import.
pub use crate::clock::Millis;
