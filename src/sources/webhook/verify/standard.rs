//! Standard Webhooks and Svix: `v1,<base64>` signatures (several, space-separated) over
//! `{id}.{timestamp}.{body}` with a base64-decoded `whsec_` key; timestamp in Unix seconds.

use std::time::Duration;

use super::{Keys, Request, Verified, VerifyError, check_window, decode, header, parse_timestamp};
use crate::sources::webhook::scheme::{Algorithm, Encoding};

#[derive(Clone, Debug)]
pub struct StandardWebhooks {
    keys: Keys,
    /// Header prefixes in order of preference: `webhook-`, or `svix-` then `webhook-`.
    prefixes: Vec<String>,
    tolerance: Duration,
}

impl StandardWebhooks {
    pub fn new(keys: Keys, prefixes: &[&str], tolerance: Duration) -> Self {
        Self {
            keys,
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            tolerance,
        }
    }

    pub fn verify(&self, request: &Request<'_>) -> Result<Verified, VerifyError> {
        // Use the first prefix whose id header is present; name the preferred one if none is.
        let prefix = self
            .prefixes
            .iter()
            .find(|p| request.headers.contains_key(format!("{p}id").as_str()))
            .or(self.prefixes.first())
            .map(String::as_str)
            .unwrap_or("webhook-");
        let (id_name, ts_name, sig_name) = (
            format!("{prefix}id"),
            format!("{prefix}timestamp"),
            format!("{prefix}signature"),
        );
        let id = header(request.headers, &id_name)?;
        let ts_text = header(request.headers, &ts_name)?;
        let seconds = parse_timestamp(&ts_name, ts_text)?;
        let sig_text = header(request.headers, &sig_name)?;
        let mut signatures = Vec::new();
        for entry in sig_text.split_whitespace() {
            // Other versions (v1a = ed25519) are skipped, not errors: senders may send several.
            if let Some(("v1", encoded)) = entry.split_once(',') {
                signatures.push(decode(Encoding::Base64, &sig_name, encoded)?);
            }
        }
        if signatures.is_empty() {
            return Err(VerifyError::Malformed {
                header: sig_name,
                problem: "no `v1,` signature".into(),
            });
        }
        let parts: [&[u8]; 5] = [id.as_bytes(), b".", ts_text.as_bytes(), b".", request.body];
        if !self
            .keys
            .any_matches(Algorithm::Sha256, &parts, &signatures)
        {
            return Err(VerifyError::BadSignature);
        }
        check_window(i128::from(seconds) * 1000, request.now_ms, self.tolerance)?;
        Ok(Verified {
            delivery_id: Some(id.to_string()),
        })
    }
}
