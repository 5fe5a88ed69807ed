//! Secrets in runtime configuration records, sealed at rest.
//!
//! A source made through the admin API keeps its webhook or shop secret in its record's JSON
//! body. With token keys configured, every string under a secret key (at any depth) is stored
//! sealed (`Vault::seal_text`, bound to the record's kind, id and key path) and opened when the
//! records are read at start. In memory, the records stay plain: the running parts need them.
//! Records an older build stored in plain text are sealed once at start.

use serde_json::Value;

use super::SECRET_KEYS;
use crate::pinterest::vault::{Vault, is_sealed_text};
use crate::store::ConfigRecord;

/// Why a record's sealed secret could not be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "the {kind} record `{id}` holds a sealed secret at `{path}` that cannot be opened: {reason}"
)]
pub struct OpenError {
    kind: &'static str,
    id: String,
    path: String,
    reason: String,
}

fn context(record: &ConfigRecord, path: &str) -> String {
    format!("config:{}:{}:{path}", record.kind.name(), record.id)
}

/// Apply `change` to every secret string of the body; `None` when the body is not JSON.
fn each_secret<E>(
    record: &ConfigRecord,
    mut change: impl FnMut(&str, &str) -> Result<Option<String>, E>,
) -> Result<Option<ConfigRecord>, E> {
    let Ok(mut body) = serde_json::from_str::<Value>(&record.body) else {
        return Ok(None);
    };
    let mut changed = false;
    walk(&mut body, "", &mut |path, text| {
        let new = change(path, text)?;
        changed |= new.is_some();
        Ok(new)
    })?;
    Ok(changed.then(|| ConfigRecord {
        body: body.to_string(),
        ..record.clone()
    }))
}

type Visit<'a, E> = dyn FnMut(&str, &str) -> Result<Option<String>, E> + 'a;

fn walk<E>(value: &mut Value, path: &str, visit: &mut Visit<'_, E>) -> Result<(), E> {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let here = format!("{path}/{key}");
                match v {
                    Value::String(text) if SECRET_KEYS.contains(&key.as_str()) => {
                        if let Some(new) = visit(&here, text)? {
                            *text = new;
                        }
                    }
                    other => walk(other, &here, visit)?,
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                walk(v, &format!("{path}/{i}"), visit)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `record` with every plain secret sealed (unchanged when it has none).
pub fn seal(vault: &Vault, record: &ConfigRecord) -> ConfigRecord {
    let sealed = each_secret::<std::convert::Infallible>(record, |path, text| {
        Ok((!is_sealed_text(text)).then(|| vault.seal_text(&context(record, path), text)))
    });
    match sealed {
        Ok(Some(sealed)) => sealed,
        _ => record.clone(),
    }
}

/// Whether `record` holds a secret in plain text.
pub fn has_plain_secret(record: &ConfigRecord) -> bool {
    let mut plain = false;
    let _ = each_secret::<std::convert::Infallible>(record, |_, text| {
        plain |= !is_sealed_text(text);
        Ok(None)
    });
    plain
}

/// `record` with its sealed secrets opened.
pub fn open(vault: Option<&Vault>, record: &ConfigRecord) -> Result<ConfigRecord, OpenError> {
    let opened = each_secret(record, |path, text| {
        if !is_sealed_text(text) {
            return Ok(None);
        }
        let fail = |reason: String| OpenError {
            kind: record.kind.name(),
            id: record.id.clone(),
            path: path.to_string(),
            reason,
        };
        let vault = vault.ok_or_else(|| {
            fail("no token keys are configured (store.token_keys or PINBRIDGE_TOKEN_KEYS); set the keys it was sealed with".into())
        })?;
        use secrecy::ExposeSecret;
        let secret = vault
            .open_text(&context(record, path), text)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Some(secret.expose_secret().to_string()))
    })?;
    Ok(opened.unwrap_or_else(|| record.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ConfigRecordKind;

    fn vault() -> Vault {
        Vault::from_env(&|n| {
            (n == "PINBRIDGE_TOKEN_KEY")
                .then(|| "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string())
        })
        .unwrap()
        .unwrap()
    }

    fn record() -> ConfigRecord {
        ConfigRecord {
            kind: ConfigRecordKind::Source,
            id: "shop".into(),
            body: r#"{"id":"shop","kind":"webhook","secret":"whsec_hunter2","nested":{"api_key":"k-hunter3"},"url":"https://x"}"#.into(),
        }
    }

    #[test]
    fn secrets_are_sealed_and_open_again_others_untouched() {
        let v = vault();
        assert!(has_plain_secret(&record()));
        let sealed = seal(&v, &record());
        assert!(!sealed.body.contains("hunter"), "{}", sealed.body);
        assert!(sealed.body.contains("https://x"));
        assert!(!has_plain_secret(&sealed));
        // Sealing twice changes nothing.
        assert_eq!(seal(&v, &sealed), sealed);
        let opened = open(Some(&v), &sealed).unwrap();
        let (a, b): (Value, Value) = (
            serde_json::from_str(&opened.body).unwrap(),
            serde_json::from_str(&record().body).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn a_sealed_secret_moved_to_another_record_or_without_keys_does_not_open() {
        let v = vault();
        let mut moved = seal(&v, &record());
        moved.id = "other".into();
        let err = open(Some(&v), &moved).unwrap_err().to_string();
        assert!(
            err.contains("`other`") && err.contains("cannot be opened"),
            "{err}"
        );
        let err = open(None, &seal(&v, &record())).unwrap_err().to_string();
        assert!(err.contains("no token keys"), "{err}");
    }
}
