//! The item record (schema 2): one value per item that is at once its dedup tombstone, its
//! stored fields and the list of its jobs, so an ingest writes it once.
//!
//! What dedup and Pin tracking need (fingerprint, first sighting, job ids) is always there; the
//! item's fields (`Payload::Kept`) may be gone: compacted by retention, or `Lost` when the record
//! was damaged and replaced by a stub so that its key still deduplicates.

use serde::{Deserialize, Serialize};

use super::envelope::{self, Body, EnvelopeError, encode_compact};
use super::records::{Fields, Record};
use crate::item::{DedupKey, Fingerprint, Item, SourceId};
use crate::store::{ItemDisposition, JobId, Millis, RemovedMark, StoredItem};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ItemRecord {
    pub fingerprint: [u8; 16],
    pub first_seen: Millis,
    pub last_seen: Millis,
    pub changes: u32,
    /// `None`: queued; otherwise why it was recorded without jobs.
    pub skipped: Option<String>,
    pub removed: Option<(Millis, Vec<String>)>,
    /// Every job of the item, in creation order (replaces the `item_jobs` index).
    pub jobs: Vec<String>,
    pub payload: Payload,
}

/// The item's own fields, or why they are absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Payload {
    Kept(ItemFields),
    /// Dropped by retention at this time; dedup and Pin tracking still work. The source's
    /// modification time stays, so an older delivery arriving late still loses.
    Compacted {
        at: Millis,
        updated_ms: Option<i64>,
    },
    /// The record was damaged and quarantined at this time; only its key is known.
    Lost {
        at: Millis,
    },
}

/// An `Item` without its source and dedup key (the tree key holds them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ItemFields {
    title: String,
    description: String,
    link: Option<String>,
    image_url: Option<String>,
    image_alt: Option<String>,
    published_ms: Option<i64>,
    updated_ms: Option<i64>,
    categories: Vec<String>,
    fields: Fields,
}

impl ItemFields {
    fn of(item: &Item) -> Self {
        Self {
            title: item.title.clone(),
            description: item.description.clone(),
            link: item.link.clone(),
            image_url: item.image_url.clone(),
            image_alt: item.image_alt.clone(),
            published_ms: item.published_ms,
            updated_ms: item.updated_ms,
            categories: item.categories.clone(),
            fields: item.fields.clone(),
        }
    }
}

impl ItemRecord {
    /// A first sighting.
    pub(crate) fn new(
        item: &Item,
        fingerprint: Fingerprint,
        now: Millis,
        disposition: &ItemDisposition,
    ) -> Self {
        let mut record = Self {
            fingerprint: fingerprint.0,
            first_seen: now,
            last_seen: now,
            changes: 0,
            skipped: None,
            removed: None,
            jobs: Vec::new(),
            payload: Payload::Kept(ItemFields::of(item)),
        };
        record.set_disposition(disposition);
        record
    }

    /// The stub left where a damaged record was: its key keeps deduplicating, nothing else is
    /// known (the fingerprint is all zeros, which no real item has in practice).
    pub(crate) fn lost(now: Millis) -> Self {
        Self {
            fingerprint: [0; 16],
            first_seen: now,
            last_seen: now,
            changes: 0,
            skipped: Some("the stored record was damaged".into()),
            removed: None,
            jobs: Vec::new(),
            payload: Payload::Lost { at: now },
        }
    }

    pub(crate) fn is_lost(&self) -> bool {
        matches!(self.payload, Payload::Lost { .. })
    }

    /// Whether the item's own fields are here (not compacted, not lost).
    pub(crate) fn has_payload(&self) -> bool {
        matches!(self.payload, Payload::Kept(_))
    }

    pub(crate) fn fingerprint(&self) -> Fingerprint {
        Fingerprint(self.fingerprint)
    }

    pub(crate) fn set_item(&mut self, item: &Item) {
        self.payload = Payload::Kept(ItemFields::of(item));
    }

    pub(crate) fn set_disposition(&mut self, disposition: &ItemDisposition) {
        self.skipped = match disposition {
            ItemDisposition::Queued => None,
            ItemDisposition::Skipped { reason } => Some(reason.clone()),
        };
    }

    fn updated_ms(&self) -> Option<i64> {
        match &self.payload {
            Payload::Kept(fields) => fields.updated_ms,
            Payload::Compacted { updated_ms, .. } => *updated_ms,
            Payload::Lost { .. } => None,
        }
    }

    /// `item` is older than the stored version by the source's own modification times
    /// (`Item::is_older_than`).
    pub(crate) fn holds_newer_than(&self, item: &Item) -> bool {
        matches!((item.updated_ms, self.updated_ms()), (Some(new), Some(old)) if new < old)
    }

    /// `item` is newer than the stored version (`Item::is_newer_than`).
    pub(crate) fn holds_older_than(&self, item: &Item) -> bool {
        matches!((item.updated_ms, self.updated_ms()), (Some(new), Some(old)) if new > old)
    }

    pub(crate) fn add_job(&mut self, id: &JobId) {
        self.jobs.push(id.0.clone());
    }

    pub(crate) fn job_ids(&self) -> Vec<JobId> {
        self.jobs.iter().cloned().map(JobId).collect()
    }

    /// Drop the item's fields (retention), keeping what dedup and Pin tracking need.
    pub(crate) fn compact(&mut self, at: Millis) {
        let updated_ms = self.updated_ms();
        self.payload = Payload::Compacted { at, updated_ms };
    }

    /// When retention dropped the item's fields, if it did.
    pub(crate) fn compacted_at(&self) -> Option<Millis> {
        match self.payload {
            Payload::Compacted { at, .. } => Some(at),
            _ => None,
        }
    }

    /// The item with its identity; fields absent (compacted, lost) read as empty.
    pub(crate) fn item(&self, source: &SourceId, key: &DedupKey) -> Item {
        let mut item = Item::new(source.clone(), key.clone());
        item.updated_ms = self.updated_ms();
        if let Payload::Kept(f) = &self.payload {
            item.title = f.title.clone();
            item.description = f.description.clone();
            item.link = f.link.clone();
            item.image_url = f.image_url.clone();
            item.image_alt = f.image_alt.clone();
            item.published_ms = f.published_ms;
            item.updated_ms = f.updated_ms;
            item.categories = f.categories.clone();
            item.fields = f.fields.clone();
        }
        item
    }

    pub(crate) fn to_stored(&self, source: &SourceId, key: &DedupKey) -> StoredItem {
        StoredItem {
            item: self.item(source, key),
            fingerprint: self.fingerprint(),
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            changes: self.changes,
            disposition: match &self.skipped {
                None => ItemDisposition::Queued,
                Some(reason) => ItemDisposition::Skipped {
                    reason: reason.clone(),
                },
            },
            removed: self.removed.as_ref().map(|(at, routes)| RemovedMark {
                at: *at,
                routes: routes.clone(),
            }),
            compacted: self.compacted_at(),
        }
    }

    /// The record of a stored item (schema 1 JSON, an import) with these jobs.
    pub(crate) fn from_stored(stored: &StoredItem, jobs: Vec<String>) -> Self {
        let mut record = Self::new(
            &stored.item,
            stored.fingerprint,
            stored.first_seen,
            &stored.disposition,
        );
        record.last_seen = stored.last_seen;
        record.changes = stored.changes;
        record.removed = stored.removed.as_ref().map(|m| (m.at, m.routes.clone()));
        record.jobs = jobs;
        if let Some(at) = stored.compacted {
            record.compact(at);
        }
        record
    }

    pub(crate) fn set_removed(&mut self, mark: Option<RemovedMark>) {
        self.removed = mark.map(|m| (m.at, m.routes));
    }

    pub(crate) fn removed_mark(&self) -> Option<RemovedMark> {
        self.removed.as_ref().map(|(at, routes)| RemovedMark {
            at: *at,
            routes: routes.clone(),
        })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        encode_compact(self)
    }
}

impl Record for ItemRecord {
    fn read(_: &[u8], raw: &[u8]) -> Result<Self, EnvelopeError> {
        match envelope::open(raw)? {
            // Schema 1: the model's JSON; its jobs were in the `item_jobs` index (migration).
            Body::Json(bytes) => {
                let stored: StoredItem = serde_json::from_slice(bytes)
                    .map_err(|e| EnvelopeError::Decode(e.to_string()))?;
                Ok(ItemRecord::from_stored(&stored, Vec::new()))
            }
            body @ Body::Compact(_) => body.decode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_roundtrips_and_is_far_smaller_than_its_json() {
        let mut item = Item::new(SourceId::new("shop"), DedupKey::new("id", "42"));
        item.title = "A lamp".into();
        item.link = Some("https://shop.example.com/lamp".into());
        item.updated_ms = Some(5);
        item.fields.insert("price".into(), "9.50".into());
        let mut record = ItemRecord::new(&item, item.fingerprint(), 7, &ItemDisposition::Queued);
        record.add_job(&JobId("j1".into()));
        let raw = record.encode();
        let back = ItemRecord::read(b"", &raw).unwrap();
        assert_eq!(back, record);
        let stored = back.to_stored(&item.source, &item.key);
        assert_eq!(stored.item, item);
        assert_eq!(
            ItemRecord::from_stored(&stored, record.jobs.clone()),
            record
        );
        let json = envelope::encode(&stored);
        assert!(
            raw.len() * 2 < json.len(),
            "{} vs {}",
            raw.len(),
            json.len()
        );
    }

    #[test]
    fn a_compacted_item_keeps_what_dedup_and_pins_need() {
        let mut item = Item::new(SourceId::new("shop"), DedupKey::new("id", "1"));
        item.title = "Mug".into();
        item.updated_ms = Some(5);
        let mut record = ItemRecord::new(&item, item.fingerprint(), 7, &ItemDisposition::Queued);
        record.add_job(&JobId("j1".into()));
        record.compact(9);
        let back = ItemRecord::read(b"", &record.encode()).unwrap();
        assert_eq!(back.fingerprint(), item.fingerprint());
        assert_eq!(back.job_ids(), vec![JobId("j1".into())]);
        assert!(!back.has_payload());
        let stored = back.to_stored(&item.source, &item.key);
        assert_eq!(stored.compacted, Some(9));
        assert_eq!(stored.item.title, "");
        // An older delivery arriving late still loses against the compacted record.
        let mut older = item.clone();
        older.updated_ms = Some(4);
        assert!(back.holds_newer_than(&older));
        assert_eq!(ItemRecord::from_stored(&stored, back.jobs.clone()), back);
    }
}
