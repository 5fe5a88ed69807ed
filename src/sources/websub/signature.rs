//! Authenticated content distribution (WebSub §8): `X-Hub-Signature: <alg>=<hex HMAC(body)>`
//! with the algorithm the hub chose, compared in constant time.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};

/// Why a pushed body's signature was not accepted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no X-Hub-Signature header, but the subscription has a secret")]
    Missing,
    #[error("X-Hub-Signature is not `<method>=<hex>`")]
    Malformed,
    #[error("X-Hub-Signature uses `{0}`; only sha1, sha256, sha384 and sha512 are accepted")]
    UnknownMethod(String),
    #[error("X-Hub-Signature does not match the body")]
    Mismatch,
}

/// Check `header` (the X-Hub-Signature value, if any) over `body` with `secret`.
pub fn verify(header: Option<&str>, body: &[u8], secret: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let (method, hex_mac) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    let mac = hex::decode(hex_mac.trim()).map_err(|_| SignatureError::Malformed)?;
    let method = method.trim().to_ascii_lowercase();
    let ok = match method.as_str() {
        "sha1" => check::<Hmac<sha1::Sha1>>(secret, body, &mac),
        "sha256" => check::<Hmac<sha2::Sha256>>(secret, body, &mac),
        "sha384" => check::<Hmac<sha2::Sha384>>(secret, body, &mac),
        "sha512" => check::<Hmac<sha2::Sha512>>(secret, body, &mac),
        _ => return Err(SignatureError::UnknownMethod(method)),
    };
    if ok {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn check<M: Mac + KeyInit>(secret: &[u8], body: &[u8], mac: &[u8]) -> bool {
    match <M as KeyInit>::new_from_slice(secret) {
        Ok(mut m) => {
            m.update(body);
            // verify_slice compares in constant time.
            m.verify_slice(mac).is_ok()
        }
        Err(_) => false,
    }
}

/// `<method>=<hex>` for `body` (hub stand-ins in tests, and the unit tests below).
pub fn sign(method: &str, body: &[u8], secret: &[u8]) -> Option<String> {
    fn hex_of<M: Mac + KeyInit>(secret: &[u8], body: &[u8]) -> Option<String> {
        let mut m = <M as KeyInit>::new_from_slice(secret).ok()?;
        m.update(body);
        Some(hex::encode(m.finalize().into_bytes()))
    }
    let hex = match method {
        "sha1" => hex_of::<Hmac<sha1::Sha1>>(secret, body),
        "sha256" => hex_of::<Hmac<sha2::Sha256>>(secret, body),
        "sha384" => hex_of::<Hmac<sha2::Sha384>>(secret, body),
        "sha512" => hex_of::<Hmac<sha2::Sha512>>(secret, body),
        _ => None,
    }?;
    Some(format!("{method}={hex}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_verifies_and_a_flipped_byte_does_not() {
        for method in ["sha1", "sha256", "sha384", "sha512"] {
            let header = sign(method, b"body", b"s3cret").expect("known method");
            assert_eq!(
                verify(Some(&header), b"body", b"s3cret"),
                Ok(()),
                "{method}"
            );
            assert_eq!(
                verify(Some(&header), b"bodY", b"s3cret"),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                verify(Some(&header), b"body", b"other"),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn known_sha1_vector() {
        // HMAC-SHA1("key", "The quick brown fox jumps over the lazy dog") (RFC 2104 example).
        let header = "sha1=de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9";
        let body = b"The quick brown fox jumps over the lazy dog";
        assert_eq!(verify(Some(header), body, b"key"), Ok(()));
    }

    #[test]
    fn bad_headers_are_named() {
        assert_eq!(verify(None, b"b", b"k"), Err(SignatureError::Missing));
        assert_eq!(
            verify(Some("sha256"), b"b", b"k"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("sha256=zz"), b"b", b"k"),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(Some("md5=00"), b"b", b"k"),
            Err(SignatureError::UnknownMethod("md5".into()))
        );
    }
}
