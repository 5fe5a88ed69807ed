//! Key layouts of the sled trees.
//!
//! Source ids and dedup keys are arbitrary strings, so composite keys length-prefix each part
//! (`[u32 BE len][bytes]`) instead of using a separator: a prefix scan over one source can then never
//! match another source whose id merely starts the same. Times are stored sign-flipped big-endian
//! so byte order equals numeric order, which makes the due and expiry indexes plain range scans.

use crate::item::{DedupKey, SourceId};
use crate::store::{JobId, Millis};

fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    // Parts longer than 4 GiB cannot occur (items are parsed from bounded bodies).
    let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(part);
}

/// Prefix of every key belonging to one source.
pub(crate) fn source_prefix(source: &SourceId) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + source.0.len());
    push_part(&mut out, source.0.as_bytes());
    out
}

/// `items` key: the item's identity (schema 1's `dedup` and `item_jobs` started with it too).
pub(crate) fn item_key(source: &SourceId, key: &DedupKey) -> Vec<u8> {
    let mut out = source_prefix(source);
    push_part(&mut out, key.0.as_bytes());
    out
}

/// `deliveries` key: delivery ids are unique per sender, so they are scoped by source.
pub(crate) fn delivery_key(source: &SourceId, id: &str) -> Vec<u8> {
    let mut out = source_prefix(source);
    out.extend_from_slice(id.as_bytes());
    out
}

pub(crate) fn time_bytes(ms: Millis) -> [u8; 8] {
    ((ms as u64) ^ (1u64 << 63)).to_be_bytes()
}

#[cfg(test)]
pub(crate) fn time_from_bytes(raw: &[u8]) -> Option<Millis> {
    let arr: [u8; 8] = raw.get(..8)?.try_into().ok()?;
    Some((u64::from_be_bytes(arr) ^ (1u64 << 63)) as i64)
}

/// When a job in `state` may next be claimed, or `None` when it never will (done, dead).
///
/// `jobs_due` key: due time then job id (ids sort by creation, so ties keep queue order).
pub(crate) fn due_key(due: Millis, job: &JobId) -> Vec<u8> {
    let mut out = time_bytes(due).to_vec();
    out.extend_from_slice(job.0.as_bytes());
    out
}

pub(crate) fn job_id_from_due_key(raw: &[u8]) -> Option<JobId> {
    let id = std::str::from_utf8(raw.get(8..)?).ok()?;
    Some(JobId(id.to_string()))
}

/// The length-prefixed text parts of a composite key (`None` if it is not exactly that).
pub(crate) fn text_parts(raw: &[u8]) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let part = rest.get(4..4 + len)?;
        parts.push(String::from_utf8(part.to_vec()).ok()?);
        rest = &rest[4 + len..];
    }
    Some(parts)
}

/// A readable rendering of a raw key for quarantine reports: length-prefixed parts become
/// `part/part`, anything else is shown as text when it is text, hex otherwise.
pub(crate) fn display(raw: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut rest = raw;
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        match rest.get(4..4 + len) {
            Some(part) if std::str::from_utf8(part).is_ok() => {
                parts.push(String::from_utf8_lossy(part).into_owned());
                rest = &rest[4 + len..];
            }
            _ => break,
        }
    }
    if !rest.is_empty() || parts.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(text) if text.chars().all(|c| !c.is_control()) => parts.push(text.to_string()),
            _ => parts.push(format!("0x{}", hex::encode(rest))),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_bytes_sort_like_numbers() {
        let times = [i64::MIN, -5, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for pair in times.windows(2) {
            assert!(time_bytes(pair[0]) < time_bytes(pair[1]), "{pair:?}");
            assert_eq!(time_from_bytes(&time_bytes(pair[0])), Some(pair[0]));
        }
    }

    #[test]
    fn source_prefixes_do_not_overlap() {
        let a = item_key(&SourceId::new("blog"), &DedupKey("x".into()));
        let b_prefix = source_prefix(&SourceId::new("blo"));
        assert!(!a.starts_with(&b_prefix));
        assert!(a.starts_with(&source_prefix(&SourceId::new("blog"))));
    }

    #[test]
    fn due_key_roundtrips_job_id() {
        let id = JobId("0190a1b2-0000-7000-8000-000000000001".into());
        assert_eq!(job_id_from_due_key(&due_key(5, &id)), Some(id));
    }

    #[test]
    fn display_names_parts() {
        let k = item_key(&SourceId::new("blog"), &DedupKey("guid:1".into()));
        assert_eq!(display(&k), "blog/guid:1");
        assert_eq!(display(b"job-1"), "job-1");
        assert_eq!(display(&[0xff, 0x00]), "0xff00");
    }
}
