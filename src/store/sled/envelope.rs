//! The on-disk shape of every record: `[version byte][payload][crc32 BE]`.
//!
//! sled 0.34 has had corruption reports in the wild, so each value carries
//! its own checksum: a record that fails it is quarantined instead of being trusted or panicking.
//!
//! Two payload layouts exist. Version 1 is serde_json, used for the small records written
//! rarely (source and account state, configuration, pacing, quarantine). Version 2 is postcard,
//! a compact binary form, used for the records every ingest writes (items, jobs, delivery ids),
//! always through dedicated on-disk structs (`records.rs`): postcard is not self-describing, so
//! it cannot read serde's `tag`/`skip_serializing_if` shapes of the model types, and a field
//! added to one of those structs needs a new version byte, not a silent reinterpretation.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The JSON layout (every record written by schema 1, and the rarely written ones since).
pub(crate) const RECORD_VERSION: u8 = 1;
/// The compact layout. A newer one gets a new byte; old readers report it, not guess.
pub(crate) const COMPACT_VERSION: u8 = 2;

/// Why a stored value could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EnvelopeError {
    #[error("record is {0} bytes, shorter than an envelope")]
    TooShort(usize),
    #[error("checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum { stored: u32, computed: u32 },
    #[error("unknown record version {0}")]
    Version(u8),
    #[error("payload does not decode: {0}")]
    Decode(String),
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    out.push(RECORD_VERSION);
    // Serialising our own plain structs (strings, numbers, maps with string keys) cannot fail.
    if let Err(e) = serde_json::to_writer(&mut out, value) {
        tracing::error!(error = %e, "A store record did not serialise; writing null.");
        out.truncate(1);
        out.extend_from_slice(b"null");
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Encode in the compact layout (version 2). Only for the on-disk structs of `records.rs`.
pub(crate) fn encode_compact<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    out.push(COMPACT_VERSION);
    // Plain structs of strings, integers, options and sequences always serialise.
    match postcard::to_extend(value, out) {
        Ok(body) => out = body,
        Err(e) => {
            tracing::error!(error = %e, "A store record did not serialise; writing it empty.");
            out = vec![COMPACT_VERSION];
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A checked envelope's payload, by layout.
pub(crate) enum Body<'a> {
    Json(&'a [u8]),
    Compact(&'a [u8]),
}

impl Body<'_> {
    /// Decode into a type whose serde form is the same in both layouts (plain structs).
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        match self {
            Body::Json(bytes) => {
                serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Decode(e.to_string()))
            }
            Body::Compact(bytes) => {
                postcard::from_bytes(bytes).map_err(|e| EnvelopeError::Decode(e.to_string()))
            }
        }
    }
}

/// Check the length, checksum and version of a stored value and return its payload.
pub(crate) fn open(raw: &[u8]) -> Result<Body<'_>, EnvelopeError> {
    if raw.len() < 1 + 4 {
        return Err(EnvelopeError::TooShort(raw.len()));
    }
    let (body, crc) = raw.split_at(raw.len() - 4);
    let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(EnvelopeError::Checksum { stored, computed });
    }
    match body[0] {
        RECORD_VERSION => Ok(Body::Json(&body[1..])),
        COMPACT_VERSION => Ok(Body::Compact(&body[1..])),
        other => Err(EnvelopeError::Version(other)),
    }
}

/// Decode a value stored in either layout through its plain serde form.
pub(crate) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, EnvelopeError> {
    open(raw)?.decode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let raw = encode(&("a", 7u32));
        assert_eq!(raw[0], RECORD_VERSION);
        assert_eq!(decode::<(String, u32)>(&raw).unwrap(), ("a".to_string(), 7));
    }

    #[test]
    fn flipped_bit_is_a_checksum_error() {
        let mut raw = encode(&"hello");
        raw[3] ^= 0x01;
        assert!(matches!(
            decode::<String>(&raw),
            Err(EnvelopeError::Checksum { .. })
        ));
    }

    #[test]
    fn short_garbage_and_wrong_shape_are_errors() {
        assert_eq!(decode::<String>(b"abc"), Err(EnvelopeError::TooShort(3)));
        let raw = encode(&42u32);
        assert!(matches!(
            decode::<String>(&raw),
            Err(EnvelopeError::Decode(_))
        ));
    }

    #[test]
    fn compact_roundtrip_is_smaller_than_json() {
        let value = ("a title".to_string(), 1_700_000_000_000i64, Some(7u32));
        let compact = encode_compact(&value);
        assert_eq!(compact[0], COMPACT_VERSION);
        assert_eq!(
            decode::<(String, i64, Option<u32>)>(&compact).unwrap(),
            value
        );
        assert!(compact.len() < encode(&value).len());
        let mut flipped = compact.clone();
        flipped[2] ^= 0x01;
        assert!(matches!(
            decode::<(String, i64, Option<u32>)>(&flipped),
            Err(EnvelopeError::Checksum { .. })
        ));
    }

    #[test]
    fn unknown_version_is_reported() {
        let mut body = vec![9u8];
        body.extend_from_slice(b"1");
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(decode::<u32>(&body), Err(EnvelopeError::Version(9)));
    }
}
