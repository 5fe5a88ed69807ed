//! A small OpenAPI 3.0 validator for the agreement tests: reads the official Pinterest description
//! (YAML), resolves `$ref`s and checks type, required, min/maxLength, pattern, enum, nullable,
//! format date-time, minimum/maximum, items, allOf/anyOf/oneOf (+discriminator), readOnly in
//! requests, and (strict mode) properties the schema does not declare.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

mod checker;
use checker::Checker;

/// Where the description is: `PINBRIDGE_OPENAPI`, else the copy in the fixtures.
fn spec_path() -> PathBuf {
    if let Ok(p) = std::env::var("PINBRIDGE_OPENAPI") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pinterest-openapi-v5.23.0.yaml")
}

pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = spec_path();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the OpenAPI description {}: {e}",
                path.display()
            )
        });
        let root: Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        Spec { root }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Request,
    Response,
}

pub struct Spec {
    pub root: Value,
}

impl Spec {
    /// Follow `$ref` (local JSON pointers) until a schema without one.
    pub fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let pointer = r.strip_prefix('#').unwrap_or(r);
                    v = self
                        .root
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("unresolvable $ref {r}"));
                }
                None => return v,
            }
        }
        panic!("$ref loop")
    }

    pub fn schema(&self, name: &str) -> &Value {
        self.root
            .pointer(&format!("/components/schemas/{name}"))
            .unwrap_or_else(|| panic!("no schema {name}"))
    }

    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        self.root
            .get("paths")?
            .get(path)?
            .get(method.to_ascii_lowercase())
    }

    /// The requestBody schema for a content type, if the operation has a body.
    pub fn request_schema<'a>(&'a self, op: &'a Value, content_type: &str) -> Option<&'a Value> {
        let body = self.resolve(op.get("requestBody")?);
        body.get("content")?.get(content_type)?.get("schema")
    }

    /// The response for `status` (or `default`): `Err` when neither is declared, `Ok(None)` when
    /// it has no JSON body.
    pub fn response_schema<'a>(
        &'a self,
        op: &'a Value,
        status: u16,
    ) -> Result<Option<&'a Value>, String> {
        let responses = op.get("responses").ok_or("operation without responses")?;
        let resp = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .ok_or_else(|| format!("status {status} is not declared"))?;
        let resp = self.resolve(resp);
        Ok(resp
            .get("content")
            .and_then(|c| c.get("application/json"))
            .and_then(|c| c.get("schema")))
    }

    /// Check query and path parameters of a request to `template` (spec path) sent as `uri`.
    pub fn validate_params(&self, op: &Value, template: &str, uri: &str) -> Vec<String> {
        let mut errs = Vec::new();
        let url = url::Url::parse(&format!("http://x{uri}")).expect("uri");
        let mut given: HashMap<String, String> = url.query_pairs().into_owned().collect();
        let path_segs: Vec<&str> = url.path().trim_start_matches("/v5").split('/').collect();
        for (t, actual) in template.split('/').zip(path_segs) {
            if let Some(name) = t.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                given.insert(format!("path:{name}"), actual.to_string());
            }
        }
        let params = op
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut declared = BTreeSet::new();
        for p in &params {
            let p = self.resolve(p);
            let name = p["name"].as_str().unwrap_or_default();
            let key = match p["in"].as_str() {
                Some("query") => name.to_string(),
                Some("path") => format!("path:{name}"),
                _ => continue,
            };
            declared.insert(key.clone());
            let Some(raw) = given.get(&key) else {
                if p["required"] == Value::Bool(true) {
                    errs.push(format!("required parameter {name} missing"));
                }
                continue;
            };
            let schema = self.resolve(&p["schema"]);
            let value = match schema.get("type").and_then(Value::as_str) {
                Some("integer") => match raw.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => {
                        errs.push(format!("parameter {name}={raw} is not an integer"));
                        continue;
                    }
                },
                Some("boolean") => Value::Bool(raw == "true"),
                _ => Value::String(raw.clone()),
            };
            errs.extend(self.validate_at(
                schema,
                &value,
                &format!("parameter {name}"),
                Dir::Request,
                false,
            ));
        }
        for key in given.keys() {
            if !declared.contains(key) {
                errs.push(format!("parameter {key} is not declared"));
            }
        }
        errs
    }

    /// Errors of `value` against `schema`; `strict` also reports undeclared properties.
    pub fn validate(&self, schema: &Value, value: &Value, dir: Dir, strict: bool) -> Vec<String> {
        self.validate_at(schema, value, "$", dir, strict)
    }

    fn validate_at(
        &self,
        schema: &Value,
        value: &Value,
        at: &str,
        dir: Dir,
        strict: bool,
    ) -> Vec<String> {
        let mut errs = Vec::new();
        Checker {
            spec: self,
            dir,
            strict,
        }
        .check(schema, value, at, strict, &mut errs);
        errs
    }
}
