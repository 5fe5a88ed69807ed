//! The admin API's OpenAPI 3 description, served at `/api/v1/openapi.json`. Paths are relative
//! to the server URL `/api/v1`. `tests/it/ops_admin.rs` checks it lists exactly the routes the
//! router serves.

use axum::Json;
use serde_json::{Value, json};

pub async fn serve() -> Json<Value> {
    Json(description())
}

fn op(summary: &str, params: Value, ok: &str, errors: &[(&str, &str)]) -> Value {
    let mut responses = json!({
        "200": {"description": ok, "content": {"application/json": {"schema": {"type": "object"}}}},
        "401": {"$ref": "#/components/responses/Unauthorized"},
    });
    for (code, text) in errors {
        responses[*code] = json!({"$ref": format!("#/components/responses/{text}")});
    }
    json!({"summary": summary, "parameters": params, "responses": responses})
}

fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn list_params() -> Value {
    json!([
        {"name": "source", "in": "query", "required": false, "description": "Only this source id.", "schema": {"type": "string"}},
        {"name": "state", "in": "query", "required": false, "description": "Only jobs (or items with a job) in this state.",
         "schema": {"type": "string", "enum": ["pending", "leased", "retry", "unknown", "done", "dead"]}},
        {"name": "limit", "in": "query", "required": false, "description": "At most this many (default 50, max 500).",
         "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
    ])
}

pub fn description() -> Value {
    let item = json!([
        path_param("source", "The source id."),
        path_param("key", "The item's dedup key.")
    ]);
    let job = json!([path_param("id", "The job id.")]);
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "pinbridge admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Inspect and repair what pinbridge holds. Every operation except this description needs `Authorization: Bearer <server.admin_token>`."
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/sources": {"get": op("Configured sources with their polling state (ok, failing, parked, paused).", json!([]), "The sources.", &[])},
            "/items": {"get": op("Items, newest first, with their jobs.", list_params(), "The items.", &[("400", "BadRequest")])},
            "/items/{source}/{key}": {"get": op("One item and its jobs.", item.clone(), "The item.", &[("404", "NotFound")])},
            "/items/{source}/{key}/forget": {"post": op("Forget an item (and its unfinished jobs) so that it may be pinned again when it comes back.", item, "Forgotten.", &[("404", "NotFound")])},
            "/jobs": {"get": op("Jobs, newest first.", list_params(), "The jobs.", &[("400", "BadRequest")])},
            "/jobs/{id}": {"get": op("One job.", job.clone(), "The job.", &[("404", "NotFound")])},
            "/jobs/{id}/retry": {"post": op("Bring a dead job back to pending with its attempts reset.", job.clone(), "The job, now pending.", &[("404", "NotFound"), ("409", "Conflict")])},
            "/jobs/{id}/replay": {"post": op("Make the Pin of a done job again: the item is forgotten and re-ingested with that job's target, giving a new pending job. The old job stays as history.", job, "The old and the new job.", &[("404", "NotFound"), ("409", "Conflict")])},
            "/dead-letters": {"get": op("Dead jobs, newest first.", list_params(), "The dead jobs.", &[])},
            "/dead-letters/retry": {"post": op("Retry every dead job.", json!([]), "How many were retried.", &[])},
            "/stats": {"get": op("Store counts: items, jobs by state, quarantined records, size on disk.", json!([]), "The counts.", &[])},
            "/openapi.json": {"get": {"summary": "This description.", "security": [], "responses": {"200": {"description": "OpenAPI 3 JSON."}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}},
            "responses": {
                "Unauthorized": {"description": "Missing or wrong admin token.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "NotFound": {"description": "No such item or job.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Conflict": {"description": "The job is not in a state that allows this.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "BadRequest": {"description": "A query parameter is not valid.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}
