//! Request and response shapes of Pinterest API v5 (spec v5.23.0), only the parts pinbridge uses.
//!
//! Ids are numeric strings (`^\d+$`), never integers: they exceed what JSON numbers carry safely.
//! Response fields are `Option` wherever the spec does not require them or marks them nullable, so
//! an answer with a missing field still parses; `None` is never serialized.

use serde::{Deserialize, Serialize};

/// The API's own field limits (characters), from the `PinCreate`, `BoardSection` schemas and the
/// `page_size` parameter. Templates cut to these; the sandbox enforces them; a test compares them
/// with the OpenAPI description.
pub mod limits {
    pub const TITLE_MAX_CHARS: usize = 100;
    pub const DESCRIPTION_MAX_CHARS: usize = 800;
    pub const LINK_MAX_CHARS: usize = 2048;
    pub const ALT_TEXT_MAX_CHARS: usize = 500;
    pub const SECTION_NAME_MAX_CHARS: usize = 180;
    pub const SECTION_NAME_MIN_CHARS: usize = 1;
    pub const PAGE_SIZE_MAX: u32 = 250;
    pub const PAGE_SIZE_MIN: u32 = 1;
    pub const PAGE_SIZE_DEFAULT: u32 = 25;
}

/// `GET /user_account` (schema `Account`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `PINNER` or `BUSINESS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
}

/// `{username}` of a board or Pin owner (schema `BoardOwner`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A board (schema `Board` = `BoardBase` + `privacy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `PUBLIC`, `PROTECTED` or `SECRET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_count: Option<i64>,
}

/// `POST /boards` body (schema `BoardCreate`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardCreate {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<String>,
}

/// A board section (schema `BoardSection`; `id` is read-only, so a create sends only `name`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardSection {
    pub id: String,
    pub name: String,
}

/// `POST /boards/{id}/sections` body: the `BoardSection` schema without its read-only `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SectionCreate<'a> {
    pub name: &'a str,
}

/// A Pin as the API returns it (schema `Pin`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Pin {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    /// RFC 3339 date-time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dominant_color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_owner: Option<Owner>,
    /// `PinMedia` is a `oneOf` of five shapes; kept as JSON because pinbridge only reads it for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<serde_json::Value>,
}

/// `POST /pins` body (schema `PinCreate`), with the one media source pinbridge uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinCreate {
    pub board_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_section_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
    pub media_source: MediaSource,
}

/// `PATCH /pins/{pin_id}` body (schema `PinUpdate`): the text fields pinbridge keeps in step
/// with the item. A `None` field is left out, so Pinterest keeps what the Pin has (pinbridge
/// never clears a field nor moves a Pin to another board).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_text: Option<String>,
}

/// `PinMediaSource`: a `oneOf` discriminated by `source_type`. Only `image_url` is used
/// (pinbridge never uploads bytes or video).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source_type", rename_all = "snake_case")]
pub enum MediaSource {
    ImageUrl { url: String },
}

/// One page of a list endpoint: `{items, bookmark}`; no bookmark (or null) means the last page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark: Option<String>,
}

/// The API's error body (`Error` / `Pinterest.Lib.Error`: `{code, message}`); `message_detail`
/// appears on some 429 spam answers. Every field is optional so a stray body still parses.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_create_serializes_like_the_spec() {
        let pin = PinCreate {
            board_id: "123".into(),
            board_section_id: None,
            title: Some("T".into()),
            description: None,
            link: None,
            alt_text: None,
            media_source: MediaSource::ImageUrl {
                url: "https://example.com/a.jpg".into(),
            },
        };
        let v = serde_json::to_value(&pin).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"board_id":"123","title":"T",
                "media_source":{"source_type":"image_url","url":"https://example.com/a.jpg"}})
        );
    }

    #[test]
    fn pin_with_nulls_and_unknown_fields_parses() {
        let pin: Pin = serde_json::from_str(
            r#"{"id":"1","link":null,"title":null,"board_section_id":null,"is_owner":true,
                "media":{"media_type":"image"}}"#,
        )
        .unwrap();
        assert_eq!(pin.id, "1");
        assert_eq!(pin.link, None);
    }
}
