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

/// A create: 201 instead of 200.
fn created(mut op: Value) -> Value {
    if let Some(responses) = op["responses"].as_object_mut()
        && let Some(ok) = responses.remove("200")
    {
        responses.insert("201".into(), ok);
    }
    op
}

pub fn description() -> Value {
    let item = json!([
        path_param("source", "The source id."),
        path_param("key", "The item's dedup key.")
    ]);
    let job = json!([path_param("id", "The job id.")]);
    let source = json!([path_param("id", "The source id.")]);
    let route = json!([path_param("name", "The route name.")]);
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
            "/sources": {
                "get": op("Configured sources with their polling state (ok, failing, parked, paused), their origin (`file` or `api`) and their settings as in TOML (secrets redacted).", json!([]), "The sources.", &[]),
                "post": created(op("Add a source: the body is one `[[sources]]` entry as JSON, checked like the file. It starts at once and is kept in the store.", json!([]), "The source.", &[("400", "Invalid"), ("409", "Conflict")]))
            },
            "/sources/import": {"post": op("Add many sources at once (`{\"sources\": [...], \"dry_run\": bool}`). Sources whose id or url exist are listed in `existing` and skipped. All or nothing: with any problem nothing is added (400).", json!([]), "`added`, `existing`, `problems`.", &[("400", "Invalid")])},
            "/sources/{id}": {
                "put": op("Replace a source made through the API (a file source is edited in the file: 409).", source.clone(), "The source.", &[("400", "Invalid"), ("404", "NotFound"), ("409", "Conflict")]),
                "delete": op("Delete a source made through the API. With unfinished jobs, say what happens to them: `queued=finish` lets them run, `queued=cancel` moves them to the dead letter (\"cancelled: source deleted\"); without a choice: 409.", json!([source[0].clone(), {"name": "queued", "in": "query", "required": false, "description": "finish or cancel.", "schema": {"type": "string", "enum": ["finish", "cancel"]}}]), "`deleted`, `cancelled`, `finishing`.", &[("400", "BadRequest"), ("404", "NotFound"), ("409", "Conflict")])
            },
            "/sources/{id}/pause": {"post": op("Pause a source of any origin (kept in the store across restarts).", source.clone(), "The source.", &[("404", "NotFound")])},
            "/sources/{id}/resume": {"post": op("Resume a paused source.", source, "The source.", &[("404", "NotFound")])},
            "/routes": {
                "get": op("Routes in force with their origin (`file` or `api`) and settings.", json!([]), "The routes.", &[]),
                "post": created(op("Add a route: one `[[routes]]` entry as JSON; it needs a `name`.", json!([]), "The route.", &[("400", "Invalid"), ("409", "Conflict")]))
            },
            "/routes/{name}": {
                "put": op("Replace a route made through the API.", route.clone(), "The route.", &[("400", "Invalid"), ("404", "NotFound"), ("409", "Conflict")]),
                "delete": op("Delete a route made through the API.", route, "`deleted`.", &[("400", "Invalid"), ("404", "NotFound"), ("409", "Conflict")])
            },
            "/accounts/{account}/connect": {"post": op("Start connecting a Pinterest account (OAuth code flow): open `authorize_url` in a browser and approve; Pinterest sends the browser to `<server.public_url>/oauth/callback`, which stores the tokens sealed. The flow is single use and expires at `expires_at` (unix ms, ten minutes). Started from a signed-in browser it is bound to that browser (a cookie). Needs `server.public_url`, `pinterest.client_id`/`client_secret` and a token key (else 409).", json!([path_param("account", "The configured account name.")]), "`account`, `authorize_url`, `expires_at`.", &[("404", "NotFound"), ("409", "Unavailable")])},
            "/config/status": {"get": op("The configuration generation in force and how the last reload (start, SIGHUP, file watch) went, with its problems.", json!([]), "`generation`, `last_reload`.", &[])},
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
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
                "Problems": {"type": "object", "required": ["error", "problems"], "properties": {"error": {"type": "string"}, "problems": {"type": "array", "items": {"type": "object", "properties": {"key": {"type": "string"}, "message": {"type": "string"}, "line": {"type": "integer"}}}}}}
            },
            "responses": {
                "Unauthorized": {"description": "Missing or wrong admin token.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "NotFound": {"description": "No such item, job, source, route or account.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Conflict": {"description": "The job is not in a state that allows this, or the source or route exists, is defined in the config file, still has unfinished jobs, or is named by a route.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "Invalid": {"description": "The entry would make the configuration invalid: `problems` lists each with its key (`sources[blog].url`) and message.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problems"}}}},
                "Unavailable": {"description": "Connecting is not set up: the message names the missing setting (server.public_url, pinterest.client_id/client_secret, or a token key).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "BadRequest": {"description": "A query parameter is not valid.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        }
    })
}
