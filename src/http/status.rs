//! The status page at `/`: server-rendered HTML, no front-end build. Shows sources, the queue,
//! recent Pins with their images and the dead letters. Retrying needs the admin token: a login
//! form sets it as an HttpOnly, SameSite=Strict cookie (so other sites cannot post with it),
//! and each dead letter gets a small retry form.

use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::HttpState;
use crate::store::{JobFilter, JobId, JobState};

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/ui/login", post(login))
        .route("/ui/retry/{id}", post(retry))
        .with_state(state)
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn signed_in(state: &HttpState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.admin else {
        return false;
    };
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix("pinbridge_admin="))
        .any(|presented| token.matches(presented))
}

async fn page(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let admin = signed_in(&state, &headers);
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=utf-8><title>pinbridge</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:4px 8px}img{max-height:80px}</style></head><body>\
         <h1>pinbridge</h1>",
    );
    html.push_str("<h2>Sources</h2><table><tr><th>id</th><th>kind</th><th>last poll</th><th>errors</th><th>last error</th></tr>");
    for source in state.source_list().iter() {
        let s = state
            .store
            .source_state(&crate::item::SourceId::new(&source.id))
            .await
            .unwrap_or_default();
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&source.id),
            esc(&source.kind),
            s.last_poll.map_or("-".into(), |t| t.to_string()),
            s.error_count,
            esc(s.last_error.as_deref().unwrap_or(""))
        ));
    }
    html.push_str("</table><h2>Queue</h2><ul id=queue>");
    if let Ok(stats) = state.store.stats().await {
        for (name, count) in &stats.jobs_by_state {
            html.push_str(&format!("<li>{}: {count}</li>", esc(name)));
        }
    }
    html.push_str("</ul><h2>Recent Pins</h2><ul id=pins>");
    let list = |s: &str| JobFilter {
        source: None,
        state: Some(s.into()),
        limit: 20,
    };
    for job in state.store.jobs(list("done")).await.unwrap_or_default() {
        let image = state
            .store
            .item(&job.source, &job.item)
            .await
            .ok()
            .flatten()
            .and_then(|i| i.item.image_url)
            .unwrap_or_default();
        if let JobState::Done { pin_id, .. } = &job.state {
            html.push_str(&format!(
                "<li><img src=\"{}\" alt=\"\"> pin {} on {}</li>",
                esc(&image),
                esc(pin_id),
                esc(&job.target.board)
            ));
        }
    }
    html.push_str("</ul>");
    // Creates whose outcome is unknown: never repeated until a reconcile finds the board's
    // Pins since the send, so an operator should see why one is still waiting.
    let unknown = state.store.jobs(list("unknown")).await.unwrap_or_default();
    if !unknown.is_empty() {
        let now = state.clock.now_ms();
        html.push_str("<h2>Waiting to reconcile</h2><table id=unknown><tr><th>job</th><th>board</th><th>why</th></tr>");
        for job in &unknown {
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&job.id.0),
                esc(&job.target.board),
                esc(&crate::sync::reconcile::unknown_detail(job, now).unwrap_or_default())
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("<h2>Failures</h2>");
    if !admin {
        html.push_str(
            "<form method=post action=/ui/login><label>Admin token \
             <input type=password name=token id=token></label> <button id=login>Sign in</button></form>",
        );
    }
    html.push_str("<table id=dead><tr><th>job</th><th>board</th><th>error</th><th></th></tr>");
    for job in state.store.jobs(list("dead")).await.unwrap_or_default() {
        let error = match &job.state {
            JobState::Dead { error, .. } => error.as_str(),
            _ => "",
        };
        let button = if admin {
            format!(
                "<form method=post action=\"/ui/retry/{0}\"><button class=retry data-job=\"{0}\">Retry</button></form>",
                esc(&job.id.0)
            )
        } else {
            String::new()
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{button}</td></tr>",
            esc(&job.id.0),
            esc(&job.target.board),
            esc(error)
        ));
    }
    html.push_str("</table></body></html>");
    Html(html).into_response()
}

#[derive(Deserialize)]
struct Login {
    token: String,
}

async fn login(State(state): State<HttpState>, Form(form): Form<Login>) -> Response {
    match &state.admin {
        Some(token) if token.matches(&form.token) => {
            let cookie = format!(
                "pinbridge_admin={}; HttpOnly; SameSite=Strict; Path=/",
                form.token
            );
            match header::HeaderValue::from_str(&cookie) {
                Ok(value) => {
                    let mut answer = Redirect::to("/").into_response();
                    answer.headers_mut().insert(header::SET_COOKIE, value);
                    answer
                }
                Err(_) => (StatusCode::UNAUTHORIZED, "wrong admin token").into_response(),
            }
        }
        _ => (StatusCode::UNAUTHORIZED, "wrong admin token").into_response(),
    }
}

async fn retry(
    State(state): State<HttpState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !signed_in(&state, &headers) {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    }
    match state.store.revive(&JobId(id), state.clock.now_ms()).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}
