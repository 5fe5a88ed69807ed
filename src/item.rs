//! `Item`: the one shape every source produces, and the small newtypes around it.
//!
//! A source (feed, shop, webhook) turns whatever it read into `Item`s. Nothing else crosses from
//! the sources to the sync engine, so this is the contract between the two halves.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The id of a configured source (`[[sources]] id = "…"`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SourceId(pub String);

impl SourceId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// pinbridge's own identity of an item within its source.
///
/// Built from the most stable field the source offers: feed guid → link → image URL → hash of
/// title + content; a shop's product or listing id; a webhook's resource id. Never a random id
/// (feed-rs invents a UUID for items with no guid and no link).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DedupKey(pub String);

impl DedupKey {
    /// A key from a named kind of identity (`guid`, `link`, `image`, `hash`, `product`, …) and its value.
    pub fn new(kind: &str, value: &str) -> Self {
        Self(format!("{kind}:{}", value.trim()))
    }

    /// A key from a hash of content, for items that carry no identity of their own.
    pub fn from_content(parts: &[&str]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.trim().as_bytes());
            hasher.update([0x1f]);
        }
        Self(format!("hash:{}", hex::encode(&hasher.finalize()[..16])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A normalized item: what a Pin is made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub source: SourceId,
    pub key: DedupKey,
    /// Plain text or HTML; templates strip tags and cut to Pinterest's limits.
    pub title: String,
    /// Plain text or HTML (feed summary, product description, post excerpt).
    pub description: String,
    /// The page the Pin links to (absolute URL), when the item has one.
    pub link: Option<String>,
    /// The image the Pin shows (absolute URL). Items without one are skipped, not sent to fail.
    pub image_url: Option<String>,
    pub image_alt: Option<String>,
    /// Publication time in Unix milliseconds, when the source gives one.
    pub published_ms: Option<i64>,
    /// The source's own "last modified" time in Unix milliseconds (Shopify `updated_at`,
    /// WooCommerce `date_modified_gmt`, …), when it gives one. Senders deliver out of order,
    /// so the store keeps the newest version: an older one changes nothing (`is_older_than`).
    /// Absent from records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_ms: Option<i64>,
    /// Categories or tags: routes can match on them.
    pub categories: Vec<String>,
    /// Extra fields for templates (`price`, `vendor`, `author`, …).
    pub fields: BTreeMap<String, String>,
}

impl Item {
    /// An item with only the identity set; sources fill in the rest.
    pub fn new(source: SourceId, key: DedupKey) -> Self {
        Self {
            source,
            key,
            title: String::new(),
            description: String::new(),
            link: None,
            image_url: None,
            image_alt: None,
            published_ms: None,
            updated_ms: None,
            categories: Vec::new(),
            fields: BTreeMap::new(),
        }
    }

    /// Whether this version is older than `stored` by the source's own modification times.
    /// Unknown on either side means "not older": without the times, arrival order decides.
    pub fn is_older_than(&self, stored: &Item) -> bool {
        matches!((self.updated_ms, stored.updated_ms), (Some(new), Some(old)) if new < old)
    }

    /// Whether this version is newer than `stored` by the source's modification times.
    pub fn is_newer_than(&self, stored: &Item) -> bool {
        matches!((self.updated_ms, stored.updated_ms), (Some(new), Some(old)) if new > old)
    }

    /// A digest of the fields that decide what the Pin looks like.
    ///
    /// Two deliveries of the same item with the same fingerprint are duplicates; a different
    /// fingerprint means the item really changed (`Ingested::Changed`). Fields a Pin does not show
    /// (stock, price changes on sale, timestamps) are left out on purpose, so a Shopify
    /// `products/update` fired by an order does not count as a change.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut hasher = Sha256::new();
        for part in [
            self.title.trim(),
            self.description.trim(),
            self.link.as_deref().unwrap_or(""),
            self.image_url.as_deref().unwrap_or(""),
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        Fingerprint(out)
    }
}

/// A digest of an item's Pin-relevant fields (see [`Item::fingerprint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint(pub [u8; 16]);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        let mut item = Item::new(SourceId::new("blog"), DedupKey::new("guid", "1"));
        item.title = "Title".into();
        item.link = Some("https://example.com/a".into());
        item.image_url = Some("https://example.com/a.jpg".into());
        item
    }

    #[test]
    fn fingerprint_ignores_fields_a_pin_does_not_show() {
        let a = item();
        let mut b = item();
        b.fields.insert("price".into(), "9.99".into());
        b.published_ms = Some(1);
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn only_two_known_times_order_versions() {
        let at = |ms: Option<i64>| Item {
            updated_ms: ms,
            ..item()
        };
        assert!(at(Some(1)).is_older_than(&at(Some(2))));
        assert!(!at(Some(2)).is_older_than(&at(Some(2))));
        assert!(!at(None).is_older_than(&at(Some(2))));
        assert!(!at(Some(1)).is_older_than(&at(None)));
        assert!(at(Some(3)).is_newer_than(&at(Some(2))));
        assert!(!at(None).is_newer_than(&at(Some(2))));
        assert_eq!(at(Some(1)).fingerprint(), at(Some(2)).fingerprint());
    }

    #[test]
    fn fingerprint_changes_with_title_or_image() {
        let a = item();
        let mut b = item();
        b.title = "Other".into();
        assert_ne!(a.fingerprint(), b.fingerprint());
        let mut c = item();
        c.image_url = Some("https://example.com/b.jpg".into());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn fingerprint_fields_do_not_run_together() {
        let mut a = item();
        a.title = "ab".into();
        a.description = "c".into();
        let mut b = item();
        b.title = "a".into();
        b.description = "bc".into();
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn content_keys_are_stable_and_trimmed() {
        assert_eq!(
            DedupKey::from_content(&["t", "c"]),
            DedupKey::from_content(&[" t ", "c\n"])
        );
        assert_ne!(
            DedupKey::from_content(&["t", "c"]),
            DedupKey::from_content(&["tc", ""])
        );
    }
}
