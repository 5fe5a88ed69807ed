//! Bringing a fetched document to what feed-rs 2.4 reads well, before parsing:
//! - XML in any charset becomes UTF-8 (byte-order mark, then the XML declaration, then the
//!   Content-Type `charset`, then UTF-8 if valid, else Windows-1252 as browsers do), and the
//!   declaration is rewritten to say UTF-8 so nothing decodes it twice;
//! - an `<rss>` root without a version (or with one feed-rs does not know) is read as RSS 2.0
//!   (feed-rs rejects it: feed-rs issue #275);
//! - JSON Feed items with numeric ids and feeds without a title (both common, both fatal in
//!   feed-rs) are repaired.
//!
//! Everything here is total: any bytes in, some bytes out, never a panic.

use std::borrow::Cow;
use std::sync::OnceLock;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};
use regex::Regex;

/// The document as feed-rs should see it.
pub fn normalize<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let (bom_encoding, bom_len) = Encoding::for_bom(body).unwrap_or((UTF_8, 0));
    let first = body[bom_len..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    if first == Some(b'{') {
        return match repair_json(&body[bom_len..]) {
            Some(fixed) => Cow::Owned(fixed),
            None => Cow::Borrowed(&body[bom_len..]),
        };
    }
    let declared = declared_encoding(&body[bom_len..]);
    let encoding = if bom_len > 0 {
        bom_encoding
    } else if let Some(enc) = declared.as_deref().and_then(label) {
        enc
    } else if let Some(enc) = content_type
        .and_then(charset_param)
        .as_deref()
        .and_then(label)
    {
        enc
    } else if std::str::from_utf8(body).is_ok() {
        UTF_8
    } else {
        WINDOWS_1252
    };
    let text: Cow<'a, str> = if encoding == UTF_8 {
        String::from_utf8_lossy(&body[bom_len..])
    } else {
        encoding.decode_without_bom_handling(&body[bom_len..]).0
    };
    // The text is UTF-8 now; a declaration that says otherwise (including one that was only
    // readable after decoding, as in UTF-16 with a BOM) would make the parser decode it again.
    let needs_decl_fix =
        declared_encoding(text.as_bytes()).is_some_and(|d| !d.eq_ignore_ascii_case("utf-8"));
    let text = if needs_decl_fix {
        Cow::Owned(utf8_declaration(&text))
    } else {
        text
    };
    let text = match fix_rss_version(&text) {
        Some(fixed) => Cow::Owned(fixed),
        None => text,
    };
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    }
}

fn label(name: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(name.trim().as_bytes())?;
    // A document that reached us as bytes cannot really be UTF-16 without a BOM; such labels
    // are wrong in practice, and encoding_rs maps "replacement" labels to an encoding that
    // would discard the text.
    (enc.is_ascii_compatible() && enc != encoding_rs::REPLACEMENT).then_some(enc)
}

fn decl_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\A\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:\-]+)["']"#)
            .expect("a valid constant regex")
    })
}

/// The `encoding` of the XML declaration, read as ASCII.
fn declared_encoding(body: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]);
    decl_regex()
        .captures(&head)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

fn utf8_declaration(text: &str) -> String {
    match decl_regex().captures(text).and_then(|c| c.get(1)) {
        Some(m) => format!("{}UTF-8{}", &text[..m.start()], &text[m.end()..]),
        None => text.to_string(),
    }
}

/// `charset=…` of a Content-Type value.
fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The `<rss …>` root with a version feed-rs accepts, or `None` when it needs no change.
fn fix_rss_version(text: &str) -> Option<String> {
    static ROOT: OnceLock<Regex> = OnceLock::new();
    static VERSION: OnceLock<Regex> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        Regex::new(r"(?s)\A(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*<rss(\s[^>]*)?>")
            .expect("a valid constant regex")
    });
    let version = VERSION.get_or_init(|| {
        Regex::new(r#"\sversion\s*=\s*(?:"([^"]*)"|'([^']*)')"#).expect("a valid constant regex")
    });
    let caps = root.captures(text)?;
    let whole = caps.get(0)?;
    let attrs = caps.get(1).map_or("", |m| m.as_str());
    let fixed_attrs = match version.captures(attrs) {
        Some(v) => {
            let value = v.get(1).or(v.get(2)).map_or("", |m| m.as_str()).trim();
            if matches!(value, "2.0" | "0.91" | "0.92") {
                return None;
            }
            version.replace(attrs, r#" version="2.0""#).into_owned()
        }
        None => {
            let (body, slash) = match attrs.strip_suffix('/') {
                Some(body) => (body, "/"),
                None => (attrs, ""),
            };
            format!(r#"{body} version="2.0"{slash}"#)
        }
    };
    let tag = format!("<rss{fixed_attrs}>");
    // Group 1 (the attributes) starts right after "<rss"; without it the tag is "<rss>".
    let start = match caps.get(1) {
        Some(attrs) => attrs.start() - "<rss".len(),
        None => whole.end() - "<rss>".len(),
    };
    Some(format!("{}{tag}{}", &text[..start], &text[whole.end()..]))
}

/// Repairs for JSON Feeds feed-rs would reject; `None` when nothing needed fixing.
fn repair_json(body: &[u8]) -> Option<Vec<u8>> {
    let mut doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = doc.as_object_mut()?;
    let mut changed = false;
    if !obj.get("title").is_some_and(|t| t.is_string()) {
        obj.insert("title".into(), serde_json::Value::String(String::new()));
        changed = true;
    }
    if let Some(items) = obj.get_mut("items").and_then(|i| i.as_array_mut()) {
        for item in items.iter_mut().filter_map(|i| i.as_object_mut()) {
            if let Some(id) = item
                .get("id")
                .filter(|id| id.is_number())
                .map(|id| id.to_string())
            {
                item.insert("id".into(), serde_json::Value::String(id));
                changed = true;
            }
        }
    }
    if changed {
        serde_json::to_vec(&doc).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(body: &[u8], ct: Option<&str>) -> String {
        String::from_utf8(normalize(body, ct).into_owned()).expect("normalize yields UTF-8")
    }

    #[test]
    fn utf8_without_changes_is_borrowed() {
        let doc = br#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"></rss>"#;
        assert!(matches!(normalize(doc, None), Cow::Borrowed(_)));
    }

    #[test]
    fn declared_latin1_is_decoded_and_redeclared() {
        let doc = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><t>caf\xe9</t></rss>";
        assert_eq!(
            norm(doc, None),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><t>café</t></rss>"
        );
    }

    #[test]
    fn header_charset_applies_when_the_document_declares_none() {
        let doc = b"<rss version=\"2.0\"><t>\xcf\xf0\xe8\xe2\xe5\xf2</t></rss>";
        assert_eq!(
            norm(doc, Some("application/rss+xml; charset=windows-1251")),
            "<rss version=\"2.0\"><t>Привет</t></rss>"
        );
    }

    #[test]
    fn undeclared_invalid_utf8_falls_back_to_windows_1252() {
        assert_eq!(
            norm(b"<rss version=\"2.0\">\x93hi\x94</rss>", None),
            "<rss version=\"2.0\">\u{201c}hi\u{201d}</rss>"
        );
    }

    #[test]
    fn utf16_with_bom_is_decoded_and_redeclared() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\">é</rss>";
        let mut doc = vec![0xff, 0xfe];
        for unit in text.encode_utf16() {
            doc.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(norm(&doc, None), text.replace("UTF-16", "UTF-8"));
    }

    #[test]
    fn rss_without_version_becomes_2_0() {
        assert_eq!(
            norm(
                b"<?xml version=\"1.0\"?>\n<!-- c --><rss xmlns:a=\"x\"><channel/></rss>",
                None
            ),
            "<?xml version=\"1.0\"?>\n<!-- c --><rss xmlns:a=\"x\" version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            norm(b"<rss><channel/></rss>", None),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            norm(b"<rss version=''><channel/></rss>", None),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        let known = "<rss version=\"0.91\"><channel/></rss>";
        assert_eq!(norm(known.as_bytes(), None), known);
    }

    #[test]
    fn json_numeric_ids_and_missing_title_are_repaired() {
        let out = norm(
            br#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":7}]}"#,
            None,
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["items"][0]["id"], "7");
        assert_eq!(v["title"], "");
    }
}
