//! The on-disk shape of every record: `[version byte][serde_json payload][crc32 BE]`.
//!
//! sled 0.34 has had corruption reports in the wild, so each value carries
//! its own checksum: a record that fails it is quarantined instead of being trusted or panicking.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The only record layout so far. A newer one gets a new byte; old readers report it, not guess.
pub(crate) const RECORD_VERSION: u8 = 1;

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

pub(crate) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, EnvelopeError> {
    if raw.len() < 1 + 4 {
        return Err(EnvelopeError::TooShort(raw.len()));
    }
    let (body, crc) = raw.split_at(raw.len() - 4);
    let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = crc32fast::hash(body);
    if stored != computed {
        return Err(EnvelopeError::Checksum { stored, computed });
    }
    if body[0] != RECORD_VERSION {
        return Err(EnvelopeError::Version(body[0]));
    }
    serde_json::from_slice(&body[1..]).map_err(|e| EnvelopeError::Decode(e.to_string()))
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
    fn unknown_version_is_reported() {
        let mut body = vec![9u8];
        body.extend_from_slice(b"1");
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(decode::<u32>(&body), Err(EnvelopeError::Version(9)));
    }
}
