//! `GET /v5/user_account`, boards (`GET/POST /v5/boards`, `GET /v5/boards/{id}`) and sections
//! (`GET/POST /v5/boards/{id}/sections`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Inner;
use super::faults::AuthedUser;
use super::state::{BoardRec, SectionRec};
use super::validation::{
    ListKind, SbError, is_numeric_id, json_object, opt_text, page_params, paginate,
};
use crate::pinterest::model::limits;

type Answer = Result<Response, SbError>;

pub(crate) async fn user_account(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
) -> Answer {
    let st = sb.lock();
    let u = st.user(&user.id).ok_or_else(SbError::unauthorized)?;
    let board_count = st.boards.iter().filter(|b| b.owner == user.id).count();
    let pin_count = st.pins.iter().filter(|p| p.owner == user.id).count();
    Ok(axum::Json(json!({
        "id": u.id,
        "username": u.username,
        "account_type": "BUSINESS",
        "profile_image": "https://i.pinimg.com/75x75_RS/sandbox.jpg",
        "website_url": "",
        "business_name": null,
        "board_count": board_count,
        "pin_count": pin_count,
        "follower_count": 0,
        "following_count": 0,
        "monthly_views": 0,
        "about": "",
    }))
    .into_response())
}

pub(crate) async fn list_boards(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    let (page_size, after) = page_params(&q, ListKind::Boards)?;
    let wanted = privacy_filter(&q)?;
    // Pinterest: without a privacy, every board the token's scopes allow; secret boards need
    // boards:read_secret, whatever the filter asks for.
    let sees_secret = user.has_scope("boards:read_secret");
    let st = sb.lock();
    let mine: Vec<&BoardRec> = st
        .boards
        .iter()
        .filter(|b| b.owner == user.id)
        .filter(|b| sees_secret || b.privacy != "SECRET")
        .filter(|b| wanted.contains(&b.privacy.as_str()))
        .collect();
    let (page, bookmark) = paginate(mine, |b| b.id, after, page_size, false, ListKind::Boards);
    let items: Vec<Value> = page.into_iter().map(|b| st.board_json(b)).collect();
    Ok(axum::Json(json!({"items": items, "bookmark": bookmark})).into_response())
}

/// The privacies `GET /boards?privacy=` asks for (schema `BoardPrivacyFilter`); all without it.
fn privacy_filter(q: &HashMap<String, String>) -> Result<&'static [&'static str], SbError> {
    Ok(match q.get("privacy").map(String::as_str) {
        None | Some("ALL") => &["PUBLIC", "PROTECTED", "SECRET"],
        Some("PUBLIC") => &["PUBLIC"],
        Some("PROTECTED") => &["PROTECTED"],
        Some("SECRET") => &["SECRET"],
        Some("PUBLIC_AND_SECRET") => &["PUBLIC", "SECRET"],
        Some(_) => {
            return Err(SbError::bad_request(
                "Invalid parameter: privacy must be ALL, PUBLIC, PROTECTED, SECRET or PUBLIC_AND_SECRET.",
            ));
        }
    })
}

pub(crate) async fn create_board(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    body: Bytes,
) -> Answer {
    let obj = json_object(&body)?;
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(SbError::bad_request(
                "Missing parameter: name is required and must be a non-empty string.",
            ));
        }
    };
    let description = opt_text(&obj, "description", usize::MAX)?;
    let privacy = match obj.get("privacy") {
        None | Some(Value::Null) => "PUBLIC".to_string(),
        Some(Value::String(p)) if ["PUBLIC", "PROTECTED", "SECRET"].contains(&p.as_str()) => {
            p.clone()
        }
        Some(_) => {
            return Err(SbError::bad_request(
                "Invalid parameter: privacy must be PUBLIC, PROTECTED or SECRET.",
            ));
        }
    };
    if privacy == "SECRET" && !user.has_scope("boards:write_secret") {
        // Pinterest's wording is not documented; code and message are the sandbox's own.
        return Err(SbError::new(
            StatusCode::FORBIDDEN,
            3,
            "The access token lacks the scope boards:write_secret (sandbox).",
        ));
    }
    let now = sb.clock.now_ms();
    let mut st = sb.lock();
    if st
        .boards
        .iter()
        .any(|b| b.owner == user.id && b.name == name)
    {
        return Err(SbError::new(
            StatusCode::CONFLICT,
            58,
            format!("You already have a board named \"{name}\"."),
        ));
    }
    let id = st.next_id();
    st.boards.push(BoardRec {
        id,
        owner: user.id.clone(),
        name,
        description,
        privacy,
        created_at: now,
    });
    st.stats.boards_created += 1;
    let body = st.board_json(st.boards.last().ok_or_else(SbError::board_not_found)?);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

pub(crate) async fn get_board(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(board_id): Path<String>,
) -> Answer {
    check_board_id(&board_id)?;
    let st = sb.lock();
    let b = st
        .owned_board(&board_id, &user.id)
        .ok_or_else(SbError::board_not_found)?;
    Ok(axum::Json(st.board_json(b)).into_response())
}

pub(crate) fn check_board_id(board_id: &str) -> Result<(), SbError> {
    if is_numeric_id(board_id) {
        Ok(())
    } else {
        Err(SbError::bad_request(format!(
            "Invalid parameter: board_id `{board_id}` must be a string of digits."
        )))
    }
}

pub(crate) async fn list_sections(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(board_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Answer {
    check_board_id(&board_id)?;
    let (page_size, after) = page_params(&q, ListKind::Sections)?;
    let st = sb.lock();
    let board = st
        .owned_board(&board_id, &user.id)
        .ok_or_else(SbError::board_not_found)?;
    let sections: Vec<&SectionRec> = st
        .sections
        .iter()
        .filter(|s| s.board_id == board.id)
        .collect();
    let (page, bookmark) = paginate(
        sections,
        |s| s.id,
        after,
        page_size,
        false,
        ListKind::Sections,
    );
    let items: Vec<Value> = page
        .into_iter()
        .map(|s| json!({"id": s.id.to_string(), "name": s.name}))
        .collect();
    Ok(axum::Json(json!({"items": items, "bookmark": bookmark})).into_response())
}

pub(crate) async fn create_section(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(board_id): Path<String>,
    body: Bytes,
) -> Answer {
    check_board_id(&board_id)?;
    let obj = json_object(&body)?;
    let name = match obj.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(SbError::bad_request(
                "Missing parameter: name is required and must be a string.",
            ));
        }
    };
    let n = name.chars().count();
    if !(limits::SECTION_NAME_MIN_CHARS..=limits::SECTION_NAME_MAX_CHARS).contains(&n) {
        return Err(SbError::bad_request(format!(
            "Invalid parameter: name must be {} to {} characters long, not {n}.",
            limits::SECTION_NAME_MIN_CHARS,
            limits::SECTION_NAME_MAX_CHARS
        )));
    }
    let mut st = sb.lock();
    let board_id = st
        .owned_board(&board_id, &user.id)
        .ok_or_else(SbError::board_not_found)?
        .id;
    if st
        .sections
        .iter()
        .any(|s| s.board_id == board_id && s.name == name)
    {
        return Err(SbError::new(
            StatusCode::CONFLICT,
            4,
            format!("This board already has a section named \"{name}\"."),
        ));
    }
    let id = st.next_id();
    st.sections.push(SectionRec {
        id,
        board_id,
        name: name.clone(),
    });
    st.stats.sections_created += 1;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"id": id.to_string(), "name": name})),
    )
        .into_response())
}
