//! What a delivery maps to ([`Mapped`]), and the RFC 3339 reading the presets and the generic
//! mapping share. A leaf: `presets` wraps `mapping`, and both produce these.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::item::{DedupKey, Item};

/// What a delivery maps to.
#[derive(Clone, Debug, PartialEq)]
pub enum Mapped {
    /// An item; `skip` says why it must not become a Pin (draft, unpublished, …).
    Item {
        item: Box<Item>,
        skip: Option<String>,
        /// The resource left its published state (a Shopify product no longer `active`): it
        /// is recorded as skipped, and its Pins follow the routes' `on_delete`.
        unpublished: bool,
    },
    /// The resource `key` was deleted or left its published state at the sender: its Pins
    /// follow the routes' `on_delete`. `reason` says which signal it was.
    Removed { key: DedupKey, reason: String },
    /// An event this source does not turn into Pins (another topic): recorded and answered 2xx.
    Ignored {
        reason: String,
        /// What the event was about (`orders/create:123`), for the record.
        reference: Option<String>,
    },
}

impl Mapped {
    pub fn item(item: Item, skip: Option<String>) -> Self {
        Mapped::Item {
            item: Box::new(item),
            skip,
            unpublished: false,
        }
    }

    /// An item no longer published, skipped with `reason`.
    pub fn unpublished(item: Item, reason: String) -> Self {
        Mapped::Item {
            item: Box::new(item),
            skip: Some(reason),
            unpublished: true,
        }
    }
}

/// Milliseconds since the epoch of an RFC 3339 date-time; `None` when it does not parse.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()
}
