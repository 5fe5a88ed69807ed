//! The schema walk under [`Spec::validate`]: one value against one schema, with `$ref`,
//! composition and discriminators followed, errors collected with the JSON path they are at.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Dir, Spec};

pub(super) struct Checker<'a> {
    pub(super) spec: &'a Spec,
    pub(super) dir: Dir,
    pub(super) strict: bool,
}

impl Checker<'_> {
    /// `strict_here`: report undeclared properties at this level (off inside allOf/oneOf, where
    /// one branch sees only part of the object).
    pub(super) fn check(
        &self,
        schema: &Value,
        v: &Value,
        at: &str,
        strict_here: bool,
        errs: &mut Vec<String>,
    ) {
        let s = self.spec.resolve(schema);
        let Some(obj) = s.as_object() else { return };
        if v.is_null() {
            if obj.get("nullable") == Some(&Value::Bool(true)) {
                return;
            }
            if obj.contains_key("type") {
                errs.push(format!("{at}: null is not allowed (not nullable)"));
                return;
            }
        }
        if let Some(t) = obj.get("type").and_then(Value::as_str) {
            let ok = match t {
                "string" => v.is_string(),
                "integer" => {
                    v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
                }
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => true,
            };
            if !ok {
                errs.push(format!("{at}: expected {t}, got {v}"));
                return;
            }
        }
        if let Some(allowed) = obj.get("enum").and_then(Value::as_array)
            && !allowed.contains(v)
        {
            errs.push(format!("{at}: {v} is not one of {allowed:?}"));
        }
        if let Some(text) = v.as_str() {
            let n = text.chars().count() as u64;
            if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
                && n > max
            {
                errs.push(format!("{at}: {n} characters, maxLength is {max}"));
            }
            if let Some(min) = obj.get("minLength").and_then(Value::as_u64)
                && n < min
            {
                errs.push(format!("{at}: {n} characters, minLength is {min}"));
            }
            if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("bad pattern {p}: {e}"));
                if !re.is_match(text) {
                    errs.push(format!("{at}: {text:?} does not match {p}"));
                }
            }
            if obj.get("format").and_then(Value::as_str) == Some("date-time")
                && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .is_err()
            {
                errs.push(format!("{at}: {text:?} is not an RFC 3339 date-time"));
            }
        }
        if let Some(x) = v.as_f64() {
            if obj
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| x < m)
            {
                errs.push(format!("{at}: {x} is below the minimum"));
            }
            if obj
                .get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|m| x > m)
            {
                errs.push(format!("{at}: {x} is above the maximum"));
            }
        }
        if let (Some(items), Some(arr)) = (obj.get("items"), v.as_array()) {
            for (i, item) in arr.iter().enumerate() {
                self.check(items, item, &format!("{at}[{i}]"), self.strict, errs);
            }
        }
        if let Some(map) = v.as_object() {
            self.check_object(s, map, at, errs);
            // A bare `type: object` declares nothing, so it allows anything.
            let declares = ["properties", "allOf", "oneOf", "anyOf"]
                .iter()
                .any(|k| obj.contains_key(*k));
            if strict_here && declares {
                let mut declared = BTreeSet::new();
                self.declared(s, v, &mut declared);
                for key in map.keys() {
                    if !declared.contains(key) {
                        errs.push(format!("{at}.{key}: property not declared by the schema"));
                    }
                }
            }
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.check(sub, v, at, false, errs);
            }
        }
        if let Some(any) = obj.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(|sub| self.errors(sub, v, at).is_empty())
        {
            errs.push(format!("{at}: matches none of anyOf"));
        }
        let mapped = self.discriminated(obj, v);
        if let Some(one) = obj.get("oneOf").and_then(Value::as_array) {
            match mapped {
                Some(Ok(target)) => {
                    if !one
                        .iter()
                        .any(|b| b.get("$ref").and_then(Value::as_str) == Some(target))
                    {
                        errs.push(format!(
                            "{at}: discriminator maps to {target}, not a oneOf branch"
                        ));
                    }
                    self.check(&Value::from_ref(target), v, at, false, errs);
                }
                Some(Err(e)) => errs.push(format!("{at}: {e}")),
                None => {
                    let n = one
                        .iter()
                        .filter(|sub| self.errors(sub, v, at).is_empty())
                        .count();
                    if n != 1 {
                        errs.push(format!(
                            "{at}: matches {n} of the oneOf branches, not exactly one"
                        ));
                    }
                }
            }
        } else if let Some(Ok(target)) = mapped {
            // A discriminator without oneOf (e.g. OauthAccessTokenResponse): the mapped schema applies too.
            self.check(&Value::from_ref(target), v, at, false, errs);
        }
    }

    fn errors(&self, schema: &Value, v: &Value, at: &str) -> Vec<String> {
        let mut e = Vec::new();
        self.check(schema, v, at, false, &mut e);
        e
    }

    /// The `$ref` the discriminator picks for `v`: None without a discriminator or value.
    fn discriminated<'s>(
        &self,
        obj: &'s serde_json::Map<String, Value>,
        v: &Value,
    ) -> Option<Result<&'s str, String>> {
        let d = obj.get("discriminator")?;
        let prop = d.get("propertyName")?.as_str()?;
        let value = v.get(prop)?.as_str()?;
        let mapping = d.get("mapping")?;
        Some(
            mapping
                .get(value)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{prop}={value:?} is not in the discriminator mapping")),
        )
    }

    fn check_object(
        &self,
        s: &Value,
        map: &serde_json::Map<String, Value>,
        at: &str,
        errs: &mut Vec<String>,
    ) {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(req) = s.get("required").and_then(Value::as_array) {
            for name in req.iter().filter_map(Value::as_str) {
                let read_only = props
                    .and_then(|p| p.get(name))
                    .map(|p| self.spec.resolve(p))
                    .is_some_and(|p| p.get("readOnly") == Some(&Value::Bool(true)));
                let exempt = read_only && self.dir == Dir::Request;
                if !map.contains_key(name) && !exempt {
                    errs.push(format!("{at}: required property {name} is missing"));
                }
            }
        }
        let Some(props) = props else { return };
        for (name, value) in map {
            let Some(p) = props.get(name) else { continue };
            let resolved = self.spec.resolve(p);
            if self.dir == Dir::Request
                && p.get("readOnly").or(resolved.get("readOnly")) == Some(&Value::Bool(true))
            {
                errs.push(format!("{at}.{name}: read-only property sent in a request"));
            }
            self.check(p, value, &format!("{at}.{name}"), self.strict, errs);
        }
    }

    /// Property names `s` declares for `v`, through allOf and the chosen oneOf/discriminator branch.
    fn declared(&self, s: &Value, v: &Value, out: &mut BTreeSet<String>) {
        let s = self.spec.resolve(s);
        if let Some(p) = s.get("properties").and_then(Value::as_object) {
            out.extend(p.keys().cloned());
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            for sub in all {
                self.declared(sub, v, out);
            }
        }
        let Some(obj) = s.as_object() else { return };
        match self.discriminated(obj, v) {
            Some(Ok(target)) => self.declared(&Value::from_ref(target), v, out),
            _ => {
                for key in ["oneOf", "anyOf"] {
                    for sub in obj.get(key).and_then(Value::as_array).into_iter().flatten() {
                        if self.errors(sub, v, "$").is_empty() {
                            self.declared(sub, v, out);
                        }
                    }
                }
            }
        }
    }
}

trait FromRef {
    fn from_ref(target: &str) -> Value;
}

impl FromRef for Value {
    fn from_ref(target: &str) -> Value {
        serde_json::json!({ "$ref": target })
    }
}
