//! Reading fields out of a webhook's JSON so that every error names the field by its path
//! (`$.images[0].src: expected a string, found a number`).

use serde_json::Value;

/// A field that is missing or has the wrong type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: expected {expected}, found {found}")]
pub struct FieldError {
    pub path: String,
    pub expected: &'static str,
    pub found: &'static str,
}

/// A place in a JSON document: its value (if any) and the path that leads there.
#[derive(Clone, Debug)]
pub struct At<'a> {
    value: Option<&'a Value>,
    path: String,
}

impl<'a> At<'a> {
    pub fn root(value: &'a Value) -> Self {
        Self {
            value: Some(value),
            path: "$".into(),
        }
    }

    /// The object member `key` (missing when this is not an object).
    pub fn get(&self, key: &str) -> At<'a> {
        let mut path = self.path.clone();
        push_key(&mut path, key);
        At {
            value: self
                .value
                .and_then(|v| v.as_object())
                .and_then(|o| o.get(key)),
            path,
        }
    }

    /// The array element `i` (missing when this is not an array).
    pub fn index(&self, i: usize) -> At<'a> {
        At {
            value: self.value.and_then(|v| v.as_array()).and_then(|a| a.get(i)),
            path: format!("{}[{i}]", self.path),
        }
    }

    /// Follow a JSON Pointer (RFC 6901) from here. Numeric segments index arrays.
    /// The pointer must have passed [`check_pointer`].
    pub fn pointer(&self, pointer: &str) -> At<'a> {
        let mut at = self.clone();
        for raw in pointer.split('/').skip(1) {
            let segment = raw.replace("~1", "/").replace("~0", "~");
            let index = at
                .value
                .filter(|v| v.is_array())
                .and(segment.parse::<usize>().ok());
            at = match index {
                Some(i) => at.index(i),
                None => at.get(&segment),
            };
        }
        at
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn value(&self) -> Option<&'a Value> {
        self.value
    }

    /// There and not `null`.
    pub fn is_present(&self) -> bool {
        self.value.is_some_and(|v| !v.is_null())
    }

    fn wrong(&self, expected: &'static str) -> FieldError {
        FieldError {
            path: self.path.clone(),
            expected,
            found: self.value.map_or("nothing", kind),
        }
    }

    /// A string; `None` when missing or null.
    pub fn opt_str(&self) -> Result<Option<&'a str>, FieldError> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong("a string")),
        }
    }

    /// A string that must be there.
    pub fn req_str(&self) -> Result<&'a str, FieldError> {
        self.opt_str()?.ok_or_else(|| self.wrong("a string"))
    }

    /// A string, or `None` for missing, null, `false` or "" (PHP senders write `false` for "none").
    pub fn opt_text(&self) -> Result<Option<&'a str>, FieldError> {
        match self.value {
            Some(Value::Bool(false)) => Ok(None),
            _ => Ok(self.opt_str()?.map(str::trim).filter(|s| !s.is_empty())),
        }
    }

    /// An identifier: a non-empty string or an integer, as text. Integers keep all 64 bits
    /// (Shopify ids exceed 2^53).
    pub fn opt_id(&self) -> Result<Option<String>, FieldError> {
        const EXPECTED: &str = "a string or an integer id";
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Ok(Some(u.to_string())),
                (None, Some(i)) => Ok(Some(i.to_string())),
                _ => Err(self.wrong(EXPECTED)),
            },
            Some(_) => Err(self.wrong(EXPECTED)),
        }
    }

    pub fn req_id(&self) -> Result<String, FieldError> {
        self.opt_id()?
            .ok_or_else(|| self.wrong("a string or an integer id"))
    }

    /// An array; empty when missing or null.
    pub fn opt_array(&self) -> Result<&'a [Value], FieldError> {
        match self.value {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.wrong("an array")),
        }
    }

    /// A scalar as text (for publish gates): strings as they are, numbers and booleans printed.
    pub fn scalar_text(&self) -> Option<String> {
        match self.value? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// What kind of JSON value this is, for error messages.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn push_key(path: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&serde_json::Value::String(key.to_string()).to_string());
        path.push(']');
    }
}

/// Check a JSON Pointer's syntax: empty (the whole document) or `/`-separated segments where
/// `~` is only ever `~0` or `~1`.
pub fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "`{pointer}` is not a JSON Pointer: it must start with `/`, e.g. \"/{pointer}\""
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "`{pointer}` is not a JSON Pointer: `~` must be written `~0` and `/` inside a name `~1`"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_name_keys_and_indexes() {
        let doc = json!({"images": [{"src": 5}], "wp:x": [{"a": "b"}]});
        let root = At::root(&doc);
        let err = root
            .get("images")
            .index(0)
            .get("src")
            .req_str()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "$.images[0].src: expected a string, found a number"
        );
        let at = root.pointer("/wp:x/0/a");
        assert_eq!(at.path(), "$[\"wp:x\"][0].a");
        assert_eq!(at.req_str().unwrap(), "b");
        let missing = root.get("title").req_str().unwrap_err();
        assert_eq!(
            missing.to_string(),
            "$.title: expected a string, found nothing"
        );
    }

    #[test]
    fn ids_keep_all_64_bits() {
        let doc: Value =
            serde_json::from_str(r#"{"id": 788032119674292922, "n": -5, "f": 1.5}"#).unwrap();
        let root = At::root(&doc);
        assert_eq!(root.get("id").req_id().unwrap(), "788032119674292922");
        assert_eq!(root.get("n").req_id().unwrap(), "-5");
        assert!(root.get("f").req_id().is_err());
    }

    #[test]
    fn pointer_escapes_and_syntax() {
        let doc = json!({"a/b": {"c~d": 1}});
        assert_eq!(At::root(&doc).pointer("/a~1b/c~0d").req_id().unwrap(), "1");
        assert!(check_pointer("/a~1b/c~0d").is_ok());
        assert!(check_pointer("").is_ok());
        assert!(check_pointer("title").is_err());
        assert!(check_pointer("/a~2").is_err());
        assert!(check_pointer("/a~").is_err());
    }
}
