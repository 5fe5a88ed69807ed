//! OAuth tokens at rest: XChaCha20-Poly1305 under a key from the environment.
//!
//! Sealed format: `version (1) ‖ key id (1) ‖ nonce (24) ‖ ciphertext+tag`. The associated data
//! binds a ciphertext to its account and key id, so a sealed blob copied to another account's
//! record does not open. Keys come from `PINBRIDGE_TOKEN_KEYS` (`"2:BASE64,1:BASE64"`, the first
//! one seals, all open: rotation) or `PINBRIDGE_TOKEN_KEY` (one key, id 1); each key is 32
//! random bytes in standard base64 (`openssl rand -base64 32`).

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::oauth::Tokens;

const VERSION: u8 = 1;

/// How a text field holding a sealed secret starts. Plain secrets never start like this in
/// practice, and one that did would fail to open loudly rather than be used as a key.
pub const SEALED_TEXT_PREFIX: &str = "sealed:v1:";

/// Whether a text field holds a sealed secret.
pub fn is_sealed_text(text: &str) -> bool {
    text.starts_with(SEALED_TEXT_PREFIX)
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{var}: {reason}")]
    BadKey { var: &'static str, reason: String },
    #[error("the sealed value uses key id {0}, which is not configured (PINBRIDGE_TOKEN_KEYS)")]
    UnknownKey(u8),
    #[error("the sealed value could not be opened (wrong key, or not this record's)")]
    Open,
    #[error("the sealed value is damaged or of an unknown format")]
    Format,
}

/// The configured token keys.
pub struct Vault {
    /// (key id, cipher); the first seals.
    keys: Vec<(u8, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Vault").field("key_ids", &ids).finish()
    }
}

/// What is sealed: the tokens and a digest of the configured refresh token they descend from.
#[derive(Serialize, Deserialize)]
struct Sealed {
    access_token: String,
    refresh_token: Option<String>,
    access_expires_at: Option<i64>,
    refresh_expires_at: Option<i64>,
    scope: Option<String>,
    origin: String,
}

impl Vault {
    /// Keys from the environment (`env` injected for tests); `None` when no key is configured.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Vault>, VaultError> {
        if let Some(list) = env("PINBRIDGE_TOKEN_KEYS").filter(|v| !v.trim().is_empty()) {
            let mut keys = Vec::new();
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                // A single key without an id is key 1.
                let (id, key) = entry.split_once(':').unwrap_or(("1", entry));
                let id: u8 = id.trim().parse().map_err(|_| VaultError::BadKey {
                    var: "PINBRIDGE_TOKEN_KEYS",
                    reason: format!("key id `{id}` is not a number from 0 to 255"),
                })?;
                if keys.iter().any(|(known, _)| *known == id) {
                    // Two keys under one id: which one opens a blob would be a guess.
                    return Err(VaultError::BadKey {
                        var: "PINBRIDGE_TOKEN_KEYS",
                        reason: format!("key id {id} appears twice; give each key its own id"),
                    });
                }
                keys.push((id, cipher(key, "PINBRIDGE_TOKEN_KEYS")?));
            }
            if keys.is_empty() {
                return Err(VaultError::BadKey {
                    var: "PINBRIDGE_TOKEN_KEYS",
                    reason: "it lists no key; set `ID:BASE64` entries separated by commas \
                             (e.g. `1:` followed by `openssl rand -base64 32`), or unset it"
                        .into(),
                });
            }
            return Ok(Some(Vault { keys }));
        }
        match env("PINBRIDGE_TOKEN_KEY").filter(|v| !v.trim().is_empty()) {
            Some(key) => Ok(Some(Vault {
                keys: vec![(1, cipher(&key, "PINBRIDGE_TOKEN_KEY")?)],
            })),
            None => Ok(None),
        }
    }

    /// Seal `tokens` for `account`. `origin` identifies the configured token they came from.
    pub fn seal(&self, account: &str, tokens: &Tokens, origin: &str) -> Vec<u8> {
        let sealed = Sealed {
            access_token: tokens.access_token.expose_secret().to_string(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            access_expires_at: tokens.access_expires_at,
            refresh_expires_at: tokens.refresh_expires_at,
            scope: tokens.scope.clone(),
            origin: origin.to_string(),
        };
        let plain = serde_json::to_vec(&sealed).expect("tokens serialize");
        self.seal_with(&plain, |id| aad(account, id))
    }

    /// Open sealed tokens of `account`; returns them with their origin digest.
    pub fn open(&self, account: &str, blob: &[u8]) -> Result<(Tokens, String), VaultError> {
        let plain = self.open_with(blob, |id| aad(account, id))?;
        let sealed: Sealed = serde_json::from_slice(&plain).map_err(|_| VaultError::Format)?;
        Ok((
            Tokens {
                access_token: SecretString::from(sealed.access_token),
                refresh_token: sealed.refresh_token.map(SecretString::from),
                access_expires_at: sealed.access_expires_at,
                refresh_expires_at: sealed.refresh_expires_at,
                scope: sealed.scope,
            },
            sealed.origin,
        ))
    }

    /// Seal any other secret kept in the store (a webhook or shop secret, a WebSub secret).
    /// `context` names where it belongs (record kind, id, key): a blob copied to another
    /// record does not open there.
    pub fn seal_secret(&self, context: &str, secret: &str) -> Vec<u8> {
        self.seal_with(secret.as_bytes(), |id| secret_aad(context, id))
    }

    /// Open a secret sealed by [`Vault::seal_secret`] for the same `context`.
    pub fn open_secret(&self, context: &str, blob: &[u8]) -> Result<SecretString, VaultError> {
        let plain = self.open_with(blob, |id| secret_aad(context, id))?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| VaultError::Format)
    }

    /// [`Vault::seal_secret`] as text for a text field: [`SEALED_TEXT_PREFIX`] + base64.
    pub fn seal_text(&self, context: &str, secret: &str) -> String {
        let blob = self.seal_secret(context, secret);
        format!(
            "{SEALED_TEXT_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    /// Open a text field written by [`Vault::seal_text`].
    pub fn open_text(&self, context: &str, text: &str) -> Result<SecretString, VaultError> {
        let b64 = text
            .strip_prefix(SEALED_TEXT_PREFIX)
            .ok_or(VaultError::Format)?;
        let blob = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| VaultError::Format)?;
        self.open_secret(context, &blob)
    }

    fn seal_with(&self, plain: &[u8], aad_for: impl Fn(u8) -> Vec<u8>) -> Vec<u8> {
        // `from_env` refuses an empty key list, so there is always a first key.
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let aad = aad_for(*id);
        let ciphertext = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption does not fail for small inputs");
        let mut out = Vec::with_capacity(2 + 24 + ciphertext.len());
        out.push(VERSION);
        out.push(*id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    fn open_with(
        &self,
        blob: &[u8],
        aad_for: impl Fn(u8) -> Vec<u8>,
    ) -> Result<Vec<u8>, VaultError> {
        if blob.len() < 2 + 24 + 16 || blob[0] != VERSION {
            return Err(VaultError::Format);
        }
        let id = blob[1];
        let cipher = self
            .keys
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, c)| c)
            .ok_or(VaultError::UnknownKey(id))?;
        let aad = aad_for(id);
        cipher
            .decrypt(
                &XNonce::try_from(&blob[2..26]).map_err(|_| VaultError::Format)?,
                Payload {
                    msg: &blob[26..],
                    aad: &aad,
                },
            )
            .map_err(|_| VaultError::Open)
    }

    /// Whether `blob` was sealed with a key other than the current one (re-seal it).
    pub fn needs_reseal(&self, blob: &[u8]) -> bool {
        blob.get(1).is_some_and(|id| *id != self.keys[0].0)
    }
}

fn cipher(b64: &str, var: &'static str) -> Result<XChaCha20Poly1305, VaultError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| VaultError::BadKey {
            var,
            reason: "a key must be standard base64 (openssl rand -base64 32)".into(),
        })?;
    if bytes.len() != 32 {
        return Err(VaultError::BadKey {
            var,
            reason: format!("a key must be 32 bytes, this one is {}", bytes.len()),
        });
    }
    let key = Key::try_from(bytes.as_slice()).map_err(|_| VaultError::BadKey {
        var,
        reason: "a key must be 32 bytes".into(),
    })?;
    Ok(XChaCha20Poly1305::new(&key))
}

fn secret_aad(context: &str, key_id: u8) -> Vec<u8> {
    let mut aad = b"pinbridge-secret\0".to_vec();
    aad.extend_from_slice(context.as_bytes());
    aad.push(0);
    aad.push(key_id);
    aad
}

fn aad(account: &str, key_id: u8) -> Vec<u8> {
    let mut aad = b"pinbridge-tokens\0".to_vec();
    aad.extend_from_slice(account.as_bytes());
    aad.push(0);
    aad.push(key_id);
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const K2: &str = "HxweHRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgE=";

    fn tokens() -> Tokens {
        Tokens {
            access_token: SecretString::from("pina_secret_access"),
            refresh_token: Some(SecretString::from("pinr_secret_refresh")),
            access_expires_at: Some(5),
            refresh_expires_at: None,
            scope: Some("pins:write".into()),
        }
    }

    fn vault(env: &[(&str, &str)]) -> Vault {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Vault::from_env(&|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn seals_and_opens_without_leaking_plaintext() {
        let v = vault(&[("PINBRIDGE_TOKEN_KEY", K1)]);
        let blob = v.seal("main", &tokens(), "origin");
        assert!(!String::from_utf8_lossy(&blob).contains("pina_secret"));
        let (opened, origin) = v.open("main", &blob).unwrap();
        assert_eq!(opened.access_token.expose_secret(), "pina_secret_access");
        assert_eq!(origin, "origin");
    }

    #[test]
    fn a_blob_does_not_open_for_another_account_or_when_tampered() {
        let v = vault(&[("PINBRIDGE_TOKEN_KEY", K1)]);
        let mut blob = v.seal("main", &tokens(), "o");
        assert!(matches!(v.open("other", &blob), Err(VaultError::Open)));
        let last = blob.len() - 1;
        blob[last] ^= 1;
        assert!(matches!(v.open("main", &blob), Err(VaultError::Open)));
    }

    #[test]
    fn rotation_opens_old_keys_and_seals_with_the_first() {
        let old = vault(&[("PINBRIDGE_TOKEN_KEYS", &format!("1:{K1}"))]);
        let blob = old.seal("main", &tokens(), "o");
        let rotated = vault(&[("PINBRIDGE_TOKEN_KEYS", &format!("2:{K2},1:{K1}"))]);
        assert!(rotated.open("main", &blob).is_ok());
        assert!(rotated.needs_reseal(&blob));
        assert!(!rotated.needs_reseal(&rotated.seal("main", &tokens(), "o")));
        let only_new = vault(&[("PINBRIDGE_TOKEN_KEYS", &format!("2:{K2}"))]);
        assert!(matches!(
            only_new.open("main", &blob),
            Err(VaultError::UnknownKey(1))
        ));
    }

    fn env_error(keys: &str) -> String {
        let keys = keys.to_string();
        Vault::from_env(&|n| (n == "PINBRIDGE_TOKEN_KEYS").then(|| keys.clone()))
            .map(|_| ())
            .expect_err("refused at load")
            .to_string()
    }

    #[test]
    fn secrets_open_only_in_their_own_context() {
        let v = vault(&[("PINBRIDGE_TOKEN_KEY", K1)]);
        let blob = v.seal_secret("source:shop:secret", "shpss_hunter2");
        assert!(!String::from_utf8_lossy(&blob).contains("hunter2"));
        let opened = v.open_secret("source:shop:secret", &blob).unwrap();
        assert_eq!(opened.expose_secret(), "shpss_hunter2");
        let text = v.seal_text("websub:blog", "hunter2");
        assert!(is_sealed_text(&text) && !text.contains("hunter2"));
        assert_eq!(
            v.open_text("websub:blog", &text).unwrap().expose_secret(),
            "hunter2"
        );
        assert!(matches!(
            v.open_secret("source:other:secret", &blob),
            Err(VaultError::Open)
        ));
    }

    #[test]
    fn a_key_list_without_keys_is_refused_at_load() {
        for list in [",", " , ,", ","] {
            let err = env_error(list);
            assert!(
                err.contains("PINBRIDGE_TOKEN_KEYS") && err.contains("no key"),
                "{err}"
            );
        }
    }

    #[test]
    fn duplicate_key_ids_are_refused_without_echoing_keys() {
        let err = env_error(&format!("1:{K1},1:{K2}"));
        assert!(err.contains("key id 1 appears twice"), "{err}");
        assert!(!err.contains(K1) && !err.contains(K2), "{err}");
    }

    #[test]
    fn bad_keys_are_named_without_echoing_them() {
        let err =
            Vault::from_env(&|n| (n == "PINBRIDGE_TOKEN_KEY").then(|| "c2hvcnQ=".to_string()))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("PINBRIDGE_TOKEN_KEY") && err.contains("32 bytes"),
            "{err}"
        );
        assert!(!err.contains("c2hvcnQ"));
    }
}
