//! The store: what pinbridge remembers, behind capability traits whose sum is [`Store`].
//!
//! It is not a key-value bag: `ingest` dedups an item and queues its outbox jobs in one durable
//! transaction, and the outbox implements the lease state machine
//! `pending → leased → done | retry | unknown | dead`, whose rules are written once in
//! [`transitions`]. Every backend (sled, PostgreSQL) implements every capability and passes the
//! same conformance suite (`tests/it/store_conformance.rs`).

mod capabilities;
mod error;
pub mod follow;
mod model;
pub mod open;
pub mod pacing;
mod pin_history;
pub mod postgres;
pub mod retention;
pub mod sled;
pub mod transfer;
pub mod transitions;

pub use capabilities::{
    Accounts, Analytics, ConfigRecords, Health, Items, Outbox, Pacing, Retention, SourceStates,
    Store, Transfer,
};
pub use error::{StoreError, StoreResult};
pub use model::*;
pub use pacing::{BoardSlot, LinkClaim, LinkHolder, PinRecord};
pub use pin_history::{PinEvent, PinFate, pins_of};

/// The capability traits, to bring their methods into scope where a `dyn Store` is used:
/// `use crate::store::prelude::*;`.
pub mod prelude {
    pub use super::capabilities::{
        Accounts as _, Analytics as _, ConfigRecords as _, Health as _, Items as _, Outbox as _,
        Pacing as _, Retention as _, SourceStates as _, Store, Transfer as _,
    };
}
