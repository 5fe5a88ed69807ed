//! Secret bytes and the HMAC check shared by every scheme.
//!
//! Schemes differ in how a configured secret becomes key bytes: most use the string's UTF-8
//! bytes, Standard Webhooks / Svix base64-decode what follows `whsec_`, and Stripe's `whsec_`
//! strings are used as UTF-8 (not decoded). Comparison is always `Mac::verify_slice` on decoded
//! bytes: constant time, and a wrong-length (or empty) signature never matches.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sha2::{Sha256, Sha512};

// Decoding moved to the scheme leaf (settings validation needs it too); kept reachable here.
use crate::sources::webhook::scheme::Algorithm;
pub use crate::sources::webhook::scheme::decode_whsec;

/// The key bytes of every configured secret (several while rotating).
#[derive(Clone)]
pub struct Keys(Vec<SecretSlice<u8>>);

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys([{} redacted])", self.0.len())
    }
}

impl Keys {
    /// Secrets used as their UTF-8 bytes.
    pub fn utf8(secrets: &[SecretString]) -> Self {
        Self(
            secrets
                .iter()
                .map(|s| SecretSlice::from(s.expose_secret().as_bytes().to_vec()))
                .collect(),
        )
    }

    /// Standard Webhooks keys: base64 after an optional `whsec_` prefix.
    pub fn whsec(secrets: &[SecretString]) -> Result<Self, String> {
        secrets
            .iter()
            .map(|s| decode_whsec(s.expose_secret()).map(SecretSlice::from))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether any key's MAC over the concatenated `parts` equals any of `signatures`.
    pub fn any_matches(
        &self,
        algorithm: Algorithm,
        parts: &[&[u8]],
        signatures: &[Vec<u8>],
    ) -> bool {
        // Every pair is tried (no early exit) so timing does not tell which key matched.
        let mut matched = false;
        for key in &self.0 {
            for signature in signatures {
                matched |= mac_matches(algorithm, key.expose_secret(), parts, signature);
            }
        }
        matched
    }
}

fn mac_matches(algorithm: Algorithm, key: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
    match algorithm {
        Algorithm::Sha256 => check::<Hmac<Sha256>>(key, parts, signature),
        Algorithm::Sha512 => check::<Hmac<Sha512>>(key, parts, signature),
    }
}

fn check<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]], signature: &[u8]) -> bool {
    // HMAC accepts keys of any length, so this cannot fail; treat a failure as "no match".
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(key) else {
        return false;
    };
    for part in parts {
        mac.update(part);
    }
    mac.verify_slice(signature).is_ok()
}

/// Compute a MAC (tests and the demo sender sign with this).
pub fn sign(algorithm: Algorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        match <M as hmac::digest::KeyInit>::new_from_slice(key) {
            Ok(mut mac) => {
                for part in parts {
                    mac.update(part);
                }
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match algorithm {
        Algorithm::Sha256 => run::<Hmac<Sha256>>(key, parts),
        Algorithm::Sha512 => run::<Hmac<Sha512>>(key, parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_short_signatures_never_match() {
        let keys = Keys::utf8(&[SecretString::from("k")]);
        let good = sign(Algorithm::Sha256, b"k", &[b"body"]);
        assert!(keys.any_matches(Algorithm::Sha256, &[b"body"], std::slice::from_ref(&good)));
        assert!(!keys.any_matches(Algorithm::Sha256, &[b"body"], &[Vec::new()]));
        assert!(!keys.any_matches(Algorithm::Sha256, &[b"body"], &[good[..16].to_vec()]));
        assert!(!keys.any_matches(Algorithm::Sha512, &[b"body"], &[good]));
    }

    #[test]
    fn any_key_of_a_rotation_verifies() {
        let keys = Keys::utf8(&[SecretString::from("new"), SecretString::from("old")]);
        let by_old = sign(Algorithm::Sha256, b"old", &[b"a", b"b"]);
        assert!(keys.any_matches(Algorithm::Sha256, &[b"ab"], &[by_old]));
    }

    #[test]
    fn whsec_keys_decode_and_errors_hide_the_secret() {
        assert_eq!(
            decode_whsec("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
                .unwrap()
                .len(),
            24
        );
        let err = decode_whsec("whsec_sup3r$ecret").unwrap_err();
        assert!(!err.contains("sup3r"));
    }
}
