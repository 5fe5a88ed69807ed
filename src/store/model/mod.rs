//! The store's shared vocabulary: the types every backend reads and writes, whatever its
//! storage.

mod items;
mod jobs;
mod records;

pub use items::*;
pub use jobs::*;
pub use records::*;

/// Unix time in milliseconds. Passed in by callers so tests control time.
pub type Millis = i64;
