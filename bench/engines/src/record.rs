//! What one webhook ingest reads and writes, engine-neutral: tables, keys and values shaped
//! like pinbridge's sled store (`src/store/sled/`): length-prefixed composite keys,
//! sign-flipped big-endian times, values in the `[version][JSON][crc32]` envelope, the item as
//! a Shopify `products/create` of ~194 bytes maps to it.

use serde_json::json;

/// Every table either layout touches; engines create them all up front.
pub const TABLES: [&str; 8] = [
    "deliveries",
    "deliveries_by_time",
    "dedup",
    "items",
    "jobs",
    "jobs_due",
    "item_jobs",
    "counts",
];

/// Which records an ingest writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Four writes: the delivery id (its expiry in its value), the item record holding its
    /// tombstone (fingerprint, first seen), the job, the due-index entry.
    Lean,
    /// Today's sled layout for a Shopify delivery: delivery id and replay guard, each with an
    /// expiry-index entry; tombstone; item; job; due index; item→job index; two counters.
    Current,
    /// The lean layout as the service writes it for a Shopify delivery: the four records plus
    /// the replay guard, and both delivery keys random as in real traffic (Shopify's webhook id
    /// is a UUID, the guard a SHA-256 of the body), where `lean` keys them in sequence.
    Service,
}

impl Layout {
    pub fn parse(name: &str) -> Option<Layout> {
        match name {
            "lean" => Some(Layout::Lean),
            "current" => Some(Layout::Current),
            "service" => Some(Layout::Service),
            _ => None,
        }
    }
}

/// How record values are encoded inside the envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// serde_json, as the sled store writes today.
    Json,
    /// The same fields in a compact binary form: no field names, varint numbers,
    /// length-prefixed strings (what a postcard/bincode-style encoding would take).
    Compact,
}

impl Encoding {
    pub fn parse(name: &str) -> Option<Encoding> {
        match name {
            "json" => Some(Encoding::Json),
            "compact" => Some(Encoding::Compact),
            _ => None,
        }
    }
}

/// One ingest: the keys read first (the dedup checks), then the writes.
pub struct Ingest {
    pub reads: Vec<(&'static str, Vec<u8>)>,
    pub writes: Vec<(&'static str, Vec<u8>, Vec<u8>)>,
}

fn part(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn time_bytes(ms: i64) -> [u8; 8] {
    ((ms as u64) ^ (1u64 << 63)).to_be_bytes()
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// `value` without field names: the compact encoding's body.
fn compact(out: &mut Vec<u8>, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push(0),
        Value::Bool(b) => out.push(u8::from(*b)),
        Value::Number(n) => {
            let v = n.as_i64().unwrap_or(0);
            varint(out, ((v << 1) ^ (v >> 63)) as u64);
        }
        Value::String(s) => {
            varint(out, s.len() as u64);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            varint(out, items.len() as u64);
            items.iter().for_each(|v| compact(out, v));
        }
        Value::Object(fields) => fields.values().for_each(|v| compact(out, v)),
    }
}

/// The store's envelope: version byte, the encoded value, CRC-32 of both.
pub fn envelope(value: &serde_json::Value, encoding: Encoding) -> Vec<u8> {
    let mut out = vec![1u8];
    match encoding {
        Encoding::Json => serde_json::to_writer(&mut out, value).expect("JSON values serialise"),
        Encoding::Compact => compact(&mut out, value),
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// The records of delivery `i` at time `now` (ms), in `layout` and `encoding`.
pub fn ingest(i: u64, now: i64, layout: Layout, encoding: Encoding) -> Ingest {
    let envelope = |value: &serde_json::Value| envelope(value, encoding);
    let pid = 1_000_000 + i;
    let source = "shop";
    let mut item_key = Vec::new();
    part(&mut item_key, source.as_bytes());
    part(&mut item_key, format!("id:{pid}").as_bytes());
    let mut delivery_key = Vec::new();
    part(&mut delivery_key, source.as_bytes());
    if layout == Layout::Service {
        let (a, b) = (scatter(i), scatter(i ^ 0x5555));
        delivery_key.extend_from_slice(
            format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                a >> 32,
                a & 0xffff,
                b & 0xfff,
                (b >> 12) & 0xfff,
                b >> 16
            )
            .as_bytes(),
        );
    } else {
        delivery_key.extend_from_slice(format!("ev-bench-{i}").as_bytes());
    }
    let keep_until = now + 48 * 3_600_000;
    // A 16-byte digest, as `Fingerprint` serialises: an array of numbers.
    let fingerprint: Vec<u8> = (0..16u64)
        .map(|k| ((pid * 31 + k * 17) % 251) as u8)
        .collect();
    let job_id = uuid::Uuid::now_v7().to_string();
    let item = json!({
        "item": {
            "source": source, "key": format!("id:{pid}"), "title": format!("Bench product {i}"),
            "description": "A product used to measure webhook throughput.",
            "link": format!("https://shop.example.com/products/bench-{pid}"),
            "image_url": format!("https://img.example/{pid}.jpg"), "image_alt": null,
            "published_ms": null, "categories": [],
            "fields": {"handle": format!("bench-{pid}")},
        },
        "fingerprint": fingerprint, "first_seen": now, "last_seen": now, "changes": 0,
        "disposition": {"state": "queued"},
    });
    let job = json!({
        "id": job_id, "source": source, "item": format!("id:{pid}"),
        "target": {"route": "0", "account": "main", "board": "Products", "section": null},
        "state": {"state": "pending", "run_at": now}, "attempts": 0, "last_error": null,
        "created": now, "updated": now,
    });
    let mut due_key = time_bytes(now).to_vec();
    due_key.extend_from_slice(job_id.as_bytes());
    let delivery = envelope(&json!({ "keep_until": keep_until }));
    let mut writes = vec![
        ("deliveries", delivery_key.clone(), delivery.clone()),
        ("items", item_key.clone(), envelope(&item)),
        ("jobs", job_id.as_bytes().to_vec(), envelope(&job)),
        ("jobs_due", due_key, Vec::new()),
    ];
    let mut reads = vec![
        ("deliveries", delivery_key.clone()),
        ("items", item_key.clone()),
    ];
    if layout == Layout::Service {
        let mut guard_key = Vec::new();
        part(&mut guard_key, source.as_bytes());
        let digest: String = (0..4u64)
            .map(|k| {
                format!(
                    "{:016x}",
                    scatter(i.wrapping_mul(4).wrapping_add(k) ^ 0xabcd)
                )
            })
            .collect();
        guard_key.extend_from_slice(format!("shop#sha256:{digest}").as_bytes());
        writes.push(("deliveries", guard_key.clone(), delivery.clone()));
        reads.push(("deliveries", guard_key));
    }
    if layout == Layout::Current {
        // The replay guard: a digest of the signed bytes, kept like a delivery id.
        let mut guard_key = Vec::new();
        part(&mut guard_key, source.as_bytes());
        guard_key.extend_from_slice(
            format!("shop#sha256:{:064x}", u128::from(pid) * 0x9e37_79b9).as_bytes(),
        );
        let by_time = |key: &[u8]| [time_bytes(keep_until).as_slice(), key].concat();
        let mut item_job = item_key.clone();
        item_job.extend_from_slice(job_id.as_bytes());
        let stone = json!({ "fingerprint": item["fingerprint"], "first_seen": now });
        writes.extend([
            ("deliveries_by_time", by_time(&delivery_key), Vec::new()),
            ("deliveries", guard_key.clone(), delivery),
            ("deliveries_by_time", by_time(&guard_key), Vec::new()),
            ("dedup", item_key.clone(), envelope(&stone)),
            ("item_jobs", item_job, Vec::new()),
            (
                "counts",
                b"n/items".to_vec(),
                (i as i64 + 1).to_be_bytes().to_vec(),
            ),
            (
                "counts",
                b"n/job/pending".to_vec(),
                (i as i64 + 1).to_be_bytes().to_vec(),
            ),
        ]);
        reads.extend([
            ("deliveries", guard_key),
            ("dedup", item_key),
            ("counts", b"n/items".to_vec()),
            ("counts", b"n/job/pending".to_vec()),
        ]);
    }
    Ingest { reads, writes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lean_is_four_writes_and_current_eleven() {
        assert_eq!(ingest(0, 1, Layout::Lean, Encoding::Json).writes.len(), 4);
        assert_eq!(
            ingest(0, 1, Layout::Current, Encoding::Json).writes.len(),
            11
        );
    }

    #[test]
    fn compact_records_are_smaller_than_json() {
        let size = |e| -> usize {
            let records = ingest(7, 1_765_000_000_000, Layout::Lean, e);
            records.writes.iter().map(|w| w.1.len() + w.2.len()).sum()
        };
        assert!(size(Encoding::Compact) < size(Encoding::Json) / 2);
    }

    #[test]
    fn envelope_ends_in_the_crc_of_the_rest() {
        let raw = envelope(&json!({"a": 1}), Encoding::Json);
        let (body, crc) = raw.split_at(raw.len() - 4);
        assert_eq!(body[0], 1);
        assert_eq!(crc32fast::hash(body).to_be_bytes(), crc);
    }
}

/// A well-mixed 64-bit value of `i` (splitmix64's finaliser): stands for random ids and digests
/// without a random-number dependency, the same on every run.
fn scatter(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
