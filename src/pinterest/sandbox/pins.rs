//! Pins: `POST /v5/pins` (validated like the API, with create-then-fail faults),
//! `GET/PATCH/DELETE /v5/pins/{id}` and `GET /v5/boards/{id}/pins` (newest first).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::{Map, Value, json};

use super::Inner;
use super::boards::check_board_id;
use super::faults::{AuthedUser, FailMode};
use super::state::PinRec;
use super::validation::{
    ListKind, SbError, is_http_url, json_object, opt_id, opt_text, page_params, paginate,
};
use crate::pinterest::model::limits;

type Answer = Result<Response, SbError>;

/// The checked fields of a `PinCreate`.
struct NewPin {
    board_id: String,
    section_id: Option<String>,
    title: Option<String>,
    description: Option<String>,
    link: Option<String>,
    alt_text: Option<String>,
    dominant_color: Option<String>,
    image_url: String,
}

fn parse_pin(obj: &Map<String, Value>) -> Result<NewPin, SbError> {
    let board_id = opt_id(obj, "board_id")?
        .ok_or_else(|| SbError::bad_request("Missing parameter: board_id."))?;
    let link = opt_text(obj, "link", limits::LINK_MAX_CHARS)?;
    if let Some(l) = &link
        && !is_http_url(l)
    {
        return Err(SbError::bad_request(format!(
            "Invalid parameter: link `{l}` is not a valid http(s) URL."
        )));
    }
    let media = match obj.get("media_source") {
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(SbError::bad_request(
                "Invalid parameter: media_source must be an object.",
            ));
        }
        None => return Err(SbError::bad_request("Missing parameter: media_source.")),
    };
    match media.get("source_type").and_then(Value::as_str) {
        Some("image_url") => {}
        Some(other) => {
            return Err(SbError::bad_request(format!(
                "Invalid parameter: media_source.source_type `{other}` is not supported by the sandbox; use image_url."
            )));
        }
        None => {
            return Err(SbError::bad_request(
                "Missing parameter: media_source.source_type.",
            ));
        }
    }
    let image_url = match media.get("url") {
        Some(Value::String(u)) if is_http_url(u) => u.clone(),
        Some(Value::String(u)) => {
            return Err(SbError::bad_request(format!(
                "Invalid parameter: media_source.url `{u}` is not a valid http(s) URL."
            )));
        }
        _ => return Err(SbError::bad_request("Missing parameter: media_source.url.")),
    };
    Ok(NewPin {
        board_id,
        section_id: opt_id(obj, "board_section_id")?,
        title: opt_text(obj, "title", limits::TITLE_MAX_CHARS)?,
        description: opt_text(obj, "description", limits::DESCRIPTION_MAX_CHARS)?,
        link,
        alt_text: opt_text(obj, "alt_text", limits::ALT_TEXT_MAX_CHARS)?,
        dominant_color: opt_text(obj, "dominant_color", 16)?,
        image_url,
    })
}

pub(crate) async fn create_pin(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    body: Bytes,
) -> Answer {
    let new = parse_pin(&json_object(&body)?)?;
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    let board_id = st
        .owned_board(&new.board_id, &user.id)
        .ok_or_else(SbError::board_not_found)?
        .id;
    let section_id = match &new.section_id {
        None => None,
        Some(s) => {
            let sid: u64 = s.parse().map_err(|_| SbError::section_not_found())?;
            match st.section(sid) {
                Some(sec) if sec.board_id == board_id => Some(sid),
                _ => return Err(SbError::section_not_found()),
            }
        }
    };
    let id = st.next_id();
    let pin = PinRec {
        id,
        owner: user.id.clone(),
        board_id,
        section_id,
        title: new.title,
        description: new.description,
        link: new.link,
        alt_text: new.alt_text,
        dominant_color: new.dominant_color,
        image_url: new.image_url,
        created_at: now,
    };
    let body = st.pin_json(&pin);
    st.pins.push(pin);
    st.stats.pins_created += 1;

    // The Pin exists now; a create-then-fail fault hides that from the caller.
    let rate = st.faults.create_then_fail_rate.clamp(0.0, 1.0);
    if rate > 0.0 && st.rng.random_bool(rate) {
        st.stats.create_then_fail += 1;
        let drop = match st.faults.create_then_fail {
            FailMode::Status500 => false,
            FailMode::Drop => true,
            FailMode::Either => st.rng.random_bool(0.5),
        };
        drop_or_500(drop)
    } else {
        Ok((StatusCode::CREATED, axum::Json(body)).into_response())
    }
}

fn drop_or_500(drop: bool) -> Answer {
    if !drop {
        return Err(SbError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            500,
            "Internal server error (sandbox fault after the Pin was created).",
        ));
    }
    // A body that fails makes the server abort the connection mid-answer.
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox fault: connection dropped after the Pin was created",
        ))
    });
    Ok(Response::builder()
        .status(StatusCode::CREATED)
        .header("content-type", "application/json")
        .body(Body::from_stream(failing))
        .unwrap_or_default())
}

pub(crate) async fn get_pin(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(pin_id): Path<String>,
) -> Answer {
    let st = sb.lock();
    let pin = find_owned(&st.pins, &pin_id, &user.id).ok_or_else(SbError::pin_not_found)?;
    Ok(axum::Json(st.pin_json(pin)).into_response())
}

/// `PATCH /v5/pins/{id}` with a `PinUpdate`: a field that is present replaces the Pin's
/// (`null` clears it), an absent one is kept. Moving to another board or section is checked
/// like a create; carousel slots are refused (the sandbox makes only image Pins).
pub(crate) async fn update_pin(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(pin_id): Path<String>,
    body: Bytes,
) -> Answer {
    let obj = json_object(&body)?;
    if obj.contains_key("carousel_slots") {
        return Err(SbError::bad_request(
            "Invalid parameter: carousel_slots are not supported by the sandbox.",
        ));
    }
    let link = opt_text(&obj, "link", limits::LINK_MAX_CHARS)?;
    if let Some(l) = &link
        && !is_http_url(l)
    {
        return Err(SbError::bad_request(format!(
            "Invalid parameter: link `{l}` is not a valid http(s) URL."
        )));
    }
    let title = opt_text(&obj, "title", limits::TITLE_MAX_CHARS)?;
    let description = opt_text(&obj, "description", limits::DESCRIPTION_MAX_CHARS)?;
    let alt_text = opt_text(&obj, "alt_text", limits::ALT_TEXT_MAX_CHARS)?;
    let board = match obj.get("board_id") {
        Some(Value::Null) => {
            return Err(SbError::bad_request(
                "Invalid parameter: board_id may not be null.",
            ));
        }
        _ => opt_id(&obj, "board_id")?,
    };
    let section = opt_id(&obj, "board_section_id")?;

    let mut st = sb.lock();
    let id = find_owned(&st.pins, &pin_id, &user.id)
        .ok_or_else(SbError::pin_not_found)?
        .id;
    let board_id = match &board {
        Some(b) => Some(
            st.owned_board(b, &user.id)
                .ok_or_else(SbError::board_not_found)?
                .id,
        ),
        None => None,
    };
    let section_id = match &section {
        Some(s) => {
            let sid: u64 = s.parse().map_err(|_| SbError::section_not_found())?;
            let on_board =
                board_id.or_else(|| st.pins.iter().find(|p| p.id == id).map(|p| p.board_id));
            match st.section(sid) {
                Some(sec) if Some(sec.board_id) == on_board => Some(sid),
                _ => return Err(SbError::section_not_found()),
            }
        }
        None => None,
    };
    let Some(pin) = st.pins.iter_mut().find(|p| p.id == id) else {
        return Err(SbError::pin_not_found());
    };
    let present = |field: &str| obj.contains_key(field);
    if present("title") {
        pin.title = title;
    }
    if present("description") {
        pin.description = description;
    }
    if present("link") {
        pin.link = link;
    }
    if present("alt_text") {
        pin.alt_text = alt_text;
    }
    if let Some(b) = board_id {
        pin.board_id = b;
        if !present("board_section_id") {
            pin.section_id = None;
        }
    }
    if present("board_section_id") {
        pin.section_id = section_id;
    }
    let pin = pin.clone();
    st.stats.pins_updated += 1;
    Ok(axum::Json(st.pin_json(&pin)).into_response())
}

pub(crate) async fn delete_pin(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(pin_id): Path<String>,
) -> Answer {
    let mut st = sb.lock();
    let id = find_owned(&st.pins, &pin_id, &user.id)
        .ok_or_else(SbError::pin_not_found)?
        .id;
    st.pins.retain(|p| p.id != id);
    st.stats.pins_deleted += 1;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn find_owned<'a>(pins: &'a [PinRec], pin_id: &str, user_id: &str) -> Option<&'a PinRec> {
    let id: u64 = pin_id.parse().ok()?;
    pins.iter().find(|p| p.id == id && p.owner == user_id)
}

pub(crate) async fn board_pins(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(board_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    check_board_id(&board_id)?;
    let (page_size, after) = page_params(&q, ListKind::Pins)?;
    let st = sb.lock();
    let board = st
        .owned_board(&board_id, &user.id)
        .ok_or_else(SbError::board_not_found)?;
    let newest_first: Vec<&PinRec> = st
        .pins
        .iter()
        .rev()
        .filter(|p| p.board_id == board.id)
        .collect();
    let (page, bookmark) = paginate(
        newest_first,
        |p| p.id,
        after,
        page_size,
        true,
        ListKind::Pins,
    );
    let items: Vec<Value> = page.into_iter().map(|p| st.pin_json(p)).collect();
    Ok(axum::Json(json!({"items": items, "bookmark": bookmark})).into_response())
}
