//! The admin API's OpenAPI 3.1 document, generated (utoipa) from the handlers' own
//! `#[utoipa::path]` annotations and the request and answer types they really use, and served
//! at `/api/v1/openapi.json`. Paths are relative to the server URL `/api/v1`.
//! `tests/it/ops_admin.rs` checks it lists exactly the routes the router serves, and
//! `tests/it/ops_admin_schema.rs` checks real answers against the schemas it declares.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, ServerBuilder};
use utoipa::{Modify, OpenApi};

use super::sources;
use super::{
    analytics, config_status, handlers, jobs, poll_preview, routes, source_delete, source_import,
};

/// The document as JSON, for clients to generate from.
#[utoipa::path(get, path = "/openapi.json", tag = "reference", security(()),
    responses((status = 200, description = "This OpenAPI 3.1 document.", content_type = "application/json")))]
pub async fn serve() -> Json<Document> {
    Json(description())
}

/// The bearer scheme every operation but the two reference ones needs, and the server URL.
struct Envelope;

impl Modify for Envelope {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`server.admin_token`"))
                    .build(),
            ),
        );
        doc.servers = Some(vec![ServerBuilder::new().url("/api/v1").build()]);
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        doc.info.license = None;
        doc.info.contact = None;
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pinbridge admin API",
        description = "Inspect and repair what pinbridge holds, and change its sources and routes at run time. Every operation except this document and its reference page needs `Authorization: Bearer <server.admin_token>`; a wrong, empty or missing token gets the same 401, and without a configured token the API answers 403."
    ),
    security(("bearer" = [])),
    modifiers(&Envelope),
    paths(
        handlers::sources,
        sources::create_source,
        source_import::import_sources,
        sources::replace_source,
        source_delete::delete_source,
        sources::pause_source,
        sources::resume_source,
        poll_preview::dry_run,
        routes::list_routes,
        routes::create_route,
        routes::replace_route,
        routes::delete_route,
        config_status::config_status,
        handlers::items,
        handlers::item,
        handlers::forget,
        jobs::jobs,
        jobs::job,
        jobs::retry,
        jobs::replay,
        jobs::dead_letters,
        jobs::retry_all_dead,
        handlers::stats,
        analytics::analytics,
        super::super::connect::api_connect,
        serve,
        super::reference_page,
    ),
    tags(
        (name = "sources", description = "Sources in force: list, add, replace, delete, pause, resume, and a dry-run poll."),
        (name = "routes", description = "Routes in force: list, add, replace, delete."),
        (name = "configuration", description = "The runtime configuration's status."),
        (name = "items", description = "Items the store remembers."),
        (name = "jobs", description = "Outbox jobs: one Pin for one item on one board."),
        (name = "store", description = "The store as a whole."),
        (name = "analytics", description = "What the Pins pinbridge made earned: figures Pinterest reports, summed by source, route, board, category or template."),
        (name = "accounts", description = "Pinterest accounts: connect one from a browser."),
        (name = "reference", description = "This document, as JSON and as a page.")
    )
)]
struct AdminApi;

/// The whole document.
pub fn description() -> Document {
    AdminApi::openapi()
}
