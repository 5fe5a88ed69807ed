//! The OpenAPI description against pinbridge's own view of Pinterest: the sandbox's limits,
//! the names the models use, and the validator itself (it must catch violations, or the
//! agreement tests prove nothing).

use pinbridge::pinterest::model::{
    Account, Board, BoardCreate, MediaSource, Pin, PinCreate, limits,
};
use serde_json::json;

use crate::support::openapi::{Dir, spec};

#[test]
fn sandbox_limits_equal_the_spec() {
    let spec = spec();
    let pin_create = spec.schema("PinCreate");
    let max = |field: &str| {
        pin_create["properties"][field]["maxLength"]
            .as_u64()
            .unwrap() as usize
    };
    assert_eq!(max("title"), limits::TITLE_MAX_CHARS);
    assert_eq!(max("description"), limits::DESCRIPTION_MAX_CHARS);
    assert_eq!(max("link"), limits::LINK_MAX_CHARS);
    assert_eq!(max("alt_text"), limits::ALT_TEXT_MAX_CHARS);
    let section = &spec.schema("BoardSection")["properties"]["name"];
    assert_eq!(
        section["maxLength"].as_u64().unwrap() as usize,
        limits::SECTION_NAME_MAX_CHARS
    );
    assert_eq!(
        section["minLength"].as_u64().unwrap() as usize,
        limits::SECTION_NAME_MIN_CHARS
    );
    for param in ["query_page_size", "Pinterest.Lib.BookmarkParams.page_size"] {
        let s = &spec.root["components"]["parameters"][param]["schema"];
        assert_eq!(
            s["maximum"].as_u64().unwrap() as u32,
            limits::PAGE_SIZE_MAX,
            "{param}"
        );
        assert_eq!(
            s["minimum"].as_u64().unwrap() as u32,
            limits::PAGE_SIZE_MIN,
            "{param}"
        );
        assert_eq!(
            s["default"].as_u64().unwrap() as u32,
            limits::PAGE_SIZE_DEFAULT,
            "{param}"
        );
    }
}

#[test]
fn the_models_use_only_names_the_spec_declares() {
    let spec = spec();
    let create = PinCreate {
        board_id: "1".into(),
        board_section_id: Some("2".into()),
        title: Some("t".into()),
        description: Some("d".into()),
        link: Some("https://x.example/".into()),
        alt_text: Some("a".into()),
        media_source: MediaSource::ImageUrl {
            url: "https://x.example/i.jpg".into(),
        },
    };
    let v = serde_json::to_value(&create).unwrap();
    assert_eq!(
        spec.validate(spec.schema("PinCreate"), &v, Dir::Request, true),
        Vec::<String>::new()
    );
    let board = BoardCreate {
        name: "n".into(),
        description: Some("d".into()),
        privacy: Some("SECRET".into()),
    };
    let v = serde_json::to_value(&board).unwrap();
    assert_eq!(
        spec.validate(spec.schema("BoardCreate"), &v, Dir::Request, true),
        Vec::<String>::new()
    );

    // Fully populated response models, serialized back, only use declared fields.
    let pin = Pin {
        id: "1".into(),
        link: Some("l".into()),
        title: Some("t".into()),
        description: Some("d".into()),
        alt_text: Some("a".into()),
        board_id: Some("2".into()),
        board_section_id: Some("3".into()),
        created_at: Some("2025-01-01T00:00:00Z".into()),
        dominant_color: Some("#fff".into()),
        board_owner: Some(Default::default()),
        media: Some(json!({"media_type": "image"})),
    };
    let board = Board {
        id: "1".into(),
        name: "n".into(),
        description: Some("d".into()),
        privacy: Some("PUBLIC".into()),
        owner: Some(Default::default()),
        created_at: Some("2025-01-01T00:00:00Z".into()),
        pin_count: Some(1),
    };
    let account = Account {
        id: Some("1".into()),
        username: Some("u".into()),
        account_type: Some("BUSINESS".into()),
        profile_image: Some("p".into()),
        website_url: Some("w".into()),
        business_name: Some("b".into()),
        board_count: Some(1),
        pin_count: Some(1),
        about: Some("a".into()),
    };
    for (name, v) in [
        ("Pin", serde_json::to_value(&pin).unwrap()),
        ("Board", serde_json::to_value(&board).unwrap()),
        ("Account", serde_json::to_value(&account).unwrap()),
    ] {
        assert_eq!(
            spec.validate(spec.schema(name), &v, Dir::Response, true),
            Vec::<String>::new(),
            "{name}"
        );
    }
}

#[test]
fn the_validator_catches_violations() {
    let spec = spec();
    let errs = spec.validate(
        spec.schema("Pin"),
        &json!({"id": "abc", "title": "x".repeat(101), "board_section_id": null, "created_at": "yesterday",
                "media": {"media_type": "image", "images": {"600x": {"url": "u"}}}, "colour": 1}),
        Dir::Response,
        true,
    );
    let joined = errs.join("\n");
    for expected in [
        "$.id: \"abc\" does not match ^\\d+$",
        "$.title: 101 characters, maxLength is 100",
        "$.created_at: \"yesterday\" is not an RFC 3339 date-time",
        "$.media.images.600x: required property height is missing",
        "$.colour: property not declared",
    ] {
        assert!(
            joined.contains(expected),
            "missing {expected:?} in:\n{joined}"
        );
    }
    assert!(
        !joined.contains("board_section_id"),
        "nullable accepted:\n{joined}"
    );

    let errs = spec.validate(
        spec.schema("PinCreate"),
        &json!({"board_id": "1", "media_source": {"source_type": "image_url"}}),
        Dir::Request,
        true,
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("required property url is missing")),
        "{errs:?}"
    );
    let errs = spec.validate(
        spec.schema("PinCreate"),
        &json!({"board_id": "1", "media_source": {"source_type": "bogus", "url": "u"}}),
        Dir::Request,
        true,
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("not in the discriminator mapping")),
        "{errs:?}"
    );

    // A refresh answer must carry the refresh token (discriminator without oneOf).
    let errs = spec.validate(
        spec.schema("OauthAccessTokenResponse"),
        &json!({"access_token": "a", "token_type": "bearer", "expires_in": 1, "scope": "s", "response_type": "refresh_token"}),
        Dir::Response,
        false,
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("required property refresh_token is missing")),
        "{errs:?}"
    );

    // A read-only id in a section create; an integer where a string is due.
    let errs = spec.validate(
        spec.schema("BoardSection"),
        &json!({"id": "1", "name": "n"}),
        Dir::Request,
        true,
    );
    assert!(errs.iter().any(|e| e.contains("read-only")), "{errs:?}");
    let errs = spec.validate(
        spec.schema("Board"),
        &json!({"id": 1, "name": "n"}),
        Dir::Response,
        true,
    );
    assert!(
        errs.iter().any(|e| e.contains("expected string")),
        "{errs:?}"
    );
}
