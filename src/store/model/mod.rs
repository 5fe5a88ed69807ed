//! The store's shared vocabulary: the types every backend reads and writes, whatever its
//! storage.

mod items;
mod jobs;
mod records;

pub use items::*;
pub use jobs::*;
pub use records::*;

// Time is the clock's type; re-exported so store callers keep one import.
pub use crate::clock::Millis;
