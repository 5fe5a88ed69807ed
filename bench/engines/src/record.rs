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
}

impl Layout {
    pub fn parse(name: &str) -> Option<Layout> {
        match name {
            "lean" => Some(Layout::Lean),
            "current" => Some(Layout::Current),
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

/// The store's envelope: version byte, JSON, CRC-32 of both.
pub fn envelope(value: &serde_json::Value) -> Vec<u8> {
    let mut out = vec![1u8];
    serde_json::to_writer(&mut out, value).expect("JSON values serialise");
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// The records of delivery `i` at time `now` (ms), in `layout`.
pub fn ingest(i: u64, now: i64, layout: Layout) -> Ingest {
    let pid = 1_000_000 + i;
    let source = "shop";
    let mut item_key = Vec::new();
    part(&mut item_key, source.as_bytes());
    part(&mut item_key, format!("id:{pid}").as_bytes());
    let mut delivery_key = Vec::new();
    part(&mut delivery_key, source.as_bytes());
    delivery_key.extend_from_slice(format!("ev-bench-{i}").as_bytes());
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
        assert_eq!(ingest(0, 1, Layout::Lean).writes.len(), 4);
        assert_eq!(ingest(0, 1, Layout::Current).writes.len(), 11);
    }

    #[test]
    fn envelope_ends_in_the_crc_of_the_rest() {
        let raw = envelope(&json!({"a": 1}));
        let (body, crc) = raw.split_at(raw.len() - 4);
        assert_eq!(body[0], 1);
        assert_eq!(crc32fast::hash(body).to_be_bytes(), crc);
    }
}
