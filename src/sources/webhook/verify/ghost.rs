//! Ghost: `X-Ghost-Signature: sha256=<hex>, t=<ms>` over the body followed directly by the
//! millisecond timestamp text. Ghost enforces no window itself, so the receiver must.

use std::time::Duration;

use super::{Keys, Request, Verified, VerifyError, check_window, header, parse_timestamp};
use crate::sources::webhook::scheme::Algorithm;

pub const HEADER: &str = "X-Ghost-Signature";

#[derive(Clone, Debug)]
pub struct Ghost {
    keys: Keys,
    tolerance: Duration,
}

impl Ghost {
    pub fn new(keys: Keys, tolerance: Duration) -> Self {
        Self { keys, tolerance }
    }

    pub fn verify(&self, request: &Request<'_>) -> Result<Verified, VerifyError> {
        let text = header(request.headers, HEADER)?;
        let mut signature = None;
        let mut timestamp = None;
        for pair in text.split(',') {
            match pair.trim().split_once('=') {
                Some(("sha256", value)) => signature = Some(value.trim()),
                Some(("t", value)) => timestamp = Some(value.trim()),
                _ => {}
            }
        }
        let malformed = |problem: &str| VerifyError::Malformed {
            header: HEADER.into(),
            problem: problem.into(),
        };
        let signature = signature.ok_or_else(|| malformed("no `sha256=` signature"))?;
        let signature =
            hex::decode(signature).map_err(|_| malformed("the signature is not hex"))?;
        let ts_text = timestamp.ok_or_else(|| malformed("no `t=` timestamp"))?;
        let millis = parse_timestamp(HEADER, ts_text)?;
        let parts: [&[u8]; 2] = [request.body, ts_text.as_bytes()];
        if !self
            .keys
            .any_matches(Algorithm::Sha256, &parts, &[signature])
        {
            return Err(VerifyError::BadSignature);
        }
        check_window(i128::from(millis), request.now_ms, self.tolerance)?;
        Ok(Verified { delivery_id: None })
    }
}
