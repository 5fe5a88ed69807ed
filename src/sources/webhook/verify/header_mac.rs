//! A MAC of the body in one header: Shopify and WooCommerce and WP Webhooks (base64), GitHub
//! (`sha256=` + hex), and the configurable `generic` scheme (optionally over `{timestamp}.{body}`).

use std::time::Duration;

use super::{
    Keys, Request, Verified, VerifyError, check_window, decode, header, optional_header,
    parse_timestamp,
};
use crate::sources::webhook::scheme::{Algorithm, Encoding};

#[derive(Clone, Debug)]
pub struct HeaderMac {
    header: String,
    algorithm: Algorithm,
    encoding: Encoding,
    prefix: Option<String>,
    /// Headers that may carry the delivery id, first present wins.
    delivery_headers: Vec<String>,
    /// `Some((header, tolerance))`: the MAC covers `{timestamp}.{body}` (Unix seconds).
    timestamp: Option<(String, Duration)>,
    /// Shopify: `X-Shopify-Shop-Domain` must equal this.
    shop_domain: Option<String>,
    keys: Keys,
}

impl HeaderMac {
    pub fn body(
        header: &str,
        encoding: Encoding,
        prefix: Option<&str>,
        delivery_headers: &[&str],
        keys: Keys,
    ) -> Self {
        Self {
            header: header.to_string(),
            algorithm: Algorithm::Sha256,
            encoding,
            prefix: prefix.map(str::to_string).filter(|p| !p.is_empty()),
            delivery_headers: delivery_headers.iter().map(|h| h.to_string()).collect(),
            timestamp: None,
            shop_domain: None,
            keys,
        }
    }

    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    pub fn with_timestamp(mut self, header: &str, tolerance: Duration) -> Self {
        self.timestamp = Some((header.to_string(), tolerance));
        self
    }

    pub fn with_shop_domain(mut self, domain: Option<String>) -> Self {
        self.shop_domain = domain.map(|d| d.trim().to_ascii_lowercase());
        self
    }

    pub fn header(&self) -> &str {
        &self.header
    }

    pub fn verify(&self, request: &Request<'_>) -> Result<Verified, VerifyError> {
        let text = header(request.headers, &self.header)?;
        let text = match &self.prefix {
            Some(prefix) => {
                text.strip_prefix(prefix.as_str())
                    .ok_or_else(|| VerifyError::Malformed {
                        header: self.header.clone(),
                        problem: format!("expected the signature to start with `{prefix}`"),
                    })?
            }
            None => text,
        };
        let signature = decode(self.encoding, &self.header, text)?;
        let timestamp = match &self.timestamp {
            Some((name, tolerance)) => {
                let raw = header(request.headers, name)?;
                let seconds = parse_timestamp(name, raw)?;
                Some((raw, seconds, *tolerance))
            }
            None => None,
        };
        let matched = match timestamp {
            Some((raw, _, _)) => self.keys.any_matches(
                self.algorithm,
                &[raw.as_bytes(), b".", request.body],
                &[signature],
            ),
            None => self
                .keys
                .any_matches(self.algorithm, &[request.body], &[signature]),
        };
        if !matched {
            return Err(VerifyError::BadSignature);
        }
        if let Some((_, seconds, tolerance)) = timestamp {
            check_window(i128::from(seconds) * 1000, request.now_ms, tolerance)?;
        }
        if let Some(expected) = &self.shop_domain {
            const SHOP: &str = "X-Shopify-Shop-Domain";
            let got = optional_header(request.headers, SHOP).map(|d| d.to_ascii_lowercase());
            if got.as_deref() != Some(expected.as_str()) {
                return Err(VerifyError::WrongShop {
                    header: SHOP.into(),
                });
            }
        }
        let delivery_id = self
            .delivery_headers
            .iter()
            .find_map(|h| optional_header(request.headers, h));
        Ok(Verified { delivery_id })
    }
}
