//! What moves between stores: the records `pinbridge items export` writes one per line and
//! `import` (or `store copy`) writes back, and the cursors that page through a store in key
//! order so neither side ever holds the whole store in memory.

use serde::{Deserialize, Serialize};

use super::{ConfigRecord, Job, LinkHolder, Millis, PinDay, SourceState, StoredItem};
use crate::item::{DedupKey, SourceId};

/// One record of an export. An item carries its jobs (with their states and Pin ids), so an
/// item and its Pins arrive together and import writes them in one transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TransferRecord {
    Item {
        #[serde(flatten)]
        item: Box<StoredItem>,
        jobs: Vec<Job>,
    },
    /// One entry of the link index (one Pin per link per board), adopted Pins included.
    Link {
        account: String,
        board: String,
        link: String,
        holder: LinkHolder,
    },
    /// A board whose existing Pins were adopted, and when.
    Board {
        account: String,
        board: String,
        adopted: Millis,
    },
    SourceState {
        source: SourceId,
        state: SourceState,
    },
    Config {
        record: ConfigRecord,
    },
    /// One Pin's analytics for one day; written through `Analytics` (an upsert, so importing
    /// twice changes nothing), not `Transfer::import`.
    PinDay {
        #[serde(flatten)]
        row: Box<PinDay>,
    },
}

/// An item's identity: the export cursor of the item pages.
pub type ItemCursor = (SourceId, DedupKey);

/// A link index entry's identity (account, board, normalised link): the link pages' cursor.
pub type LinkCursor = (String, String, String);

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Records written (items with their jobs count once).
    pub written: u64,
    /// Records already present, left as they were.
    pub present: u64,
}

impl ImportCounts {
    pub fn add(&mut self, other: ImportCounts) {
        self.written += other.written;
        self.present += other.present;
    }
}
