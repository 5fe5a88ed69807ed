//! `GET /api/v1/docs`: the admin API reference as one readable page, rendered on the server
//! from the generated OpenAPI document (minijinja, HTML auto-escape). No scripts, no fonts, no
//! CDN: the one stylesheet is inline and allowed by its hash in the page's CSP.

use std::sync::LazyLock;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

const TEMPLATE: &str = include_str!("docs.html");
const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;\
line-height:1.4}code,.path{font-family:monospace}.op{border-top:1px solid #ccc;padding:.5em 0}\
.method{font-weight:bold;text-transform:uppercase;margin-right:.5em}table{border-collapse:collapse}\
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}";

/// The CSP: nothing but the inline stylesheet, by its hash. Computed once.
static CSP: LazyLock<String> = LazyLock::new(|| {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
});

/// One operation as the page shows it.
#[derive(Serialize)]
struct Operation {
    method: String,
    path: String,
    anchor: String,
    summary: String,
    description: String,
    public: bool,
    parameters: Vec<Field>,
    body: Option<String>,
    responses: Vec<Field>,
}

/// A parameter, a response or a property: a name, its type in words and what it means.
#[derive(Serialize)]
struct Field {
    name: String,
    kind: String,
    required: bool,
    text: String,
}

#[derive(Serialize)]
struct Schema {
    name: String,
    kind: String,
    text: String,
    fields: Vec<Field>,
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// A schema in a few words: `JobList`, `array of Job`, `string or null`, `one of: ok, failing`.
fn kind(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        return reference
            .rsplit('/')
            .next()
            .unwrap_or(reference)
            .to_string();
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let names: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or(v.to_string(), str::to_string))
            .collect();
        return format!("one of: {}", names.join(", "));
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(parts) = schema.get(combinator).and_then(Value::as_array) {
            let parts: Vec<String> = parts.iter().map(kind).collect();
            return parts.join(" or ");
        }
    }
    let types: Vec<String> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => vec!["any".into()],
    };
    types
        .into_iter()
        .map(|t| match (t.as_str(), schema.get("items")) {
            ("array", Some(items)) => format!("array of {}", kind(items)),
            _ => t,
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| Field {
            name: name.clone(),
            kind: kind(property),
            required: required.contains(&name.as_str()),
            text: text(property, "description"),
        })
        .collect()
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, methods) in paths {
        let Some(methods) = methods.as_object() else {
            continue;
        };
        for (method, op) in methods {
            let parameters = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| Field {
                            name: format!("{} ({})", text(p, "name"), text(p, "in")),
                            kind: kind(&p["schema"]),
                            required: p["required"].as_bool().unwrap_or(false),
                            text: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op["requestBody"]["content"]["application/json"]
                .get("schema")
                .map(kind);
            let responses = op["responses"]
                .as_object()
                .map(|rs| {
                    rs.iter()
                        .map(|(status, r)| Field {
                            name: status.clone(),
                            kind: r["content"]["application/json"]
                                .get("schema")
                                .map(kind)
                                .unwrap_or_else(|| "-".into()),
                            required: false,
                            text: text(r, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(Operation {
                method: method.clone(),
                path: path.clone(),
                anchor: format!("{method}-{path}").replace(['/', '{', '}'], "-"),
                summary: text(op, "summary"),
                description: text(op, "description"),
                public: op["security"].as_array().is_some_and(|s| {
                    s.iter()
                        .any(|req| req.as_object().is_some_and(|o| o.is_empty()))
                }),
                parameters,
                body,
                responses,
            });
        }
    }
    out
}

fn schemas(doc: &Value) -> Vec<Schema> {
    doc["components"]["schemas"]
        .as_object()
        .map(|all| {
            all.iter()
                .map(|(name, schema)| Schema {
                    name: name.clone(),
                    kind: kind(schema),
                    text: text(schema, "description"),
                    fields: fields(schema),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The page's HTML for `doc`.
pub fn render(doc: &Value) -> Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    // The `.html` name turns HTML auto-escape on: every value from the document is escaped.
    env.add_template("api.html", TEMPLATE)?;
    env.get_template("api.html")?.render(minijinja::context! {
        title => text(&doc["info"], "title"),
        version => text(&doc["info"], "version"),
        intro => text(&doc["info"], "description"),
        style => STYLE,
        operations => minijinja::Value::from(minijinja::value::Serde(operations(doc))),
        schemas => minijinja::Value::from(minijinja::value::Serde(schemas(doc))),
    })
}

/// The page as an answer, with a CSP that allows its one stylesheet and nothing else.
pub fn answer(doc: &Value) -> Response {
    let html = match render(doc) {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "The API reference page could not be rendered.");
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut answer = Html(html).into_response();
    let headers = answer.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&CSP) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    answer
}
