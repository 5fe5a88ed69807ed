//! Skipping the one field feed-rs refuses instead of losing the whole feed.
//!
//! feed-rs 2.4 fails the entire document when a single text construct has a `type` it does not
//! know (Atom allows any MIME type there: `application/octet-stream` base64, an empty `type`,
//! `application/xhtml+xml` on a title), or when a `<content>` with an inline MIME type is empty.
//! Such a field is not needed to pin anything, so the document is read again without the
//! elements that would be refused: every other field and entry survives.

use feed_rs::parser::ParseErrorKind;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Elements feed-rs reads as text constructs or content (in Atom, RSS, MediaRSS and iTunes).
const TEXT_ELEMENTS: [&[u8]; 6] = [
    b"title",
    b"subtitle",
    b"summary",
    b"rights",
    b"content",
    b"description",
];

/// Picks the elements to drop: told the element's start and whether it has no text in it.
type Refused = dyn Fn(&BytesStart<'_>, bool) -> bool;

/// What was removed, for the log.
#[derive(Debug, PartialEq, Eq)]
pub struct Skipped {
    pub elements: usize,
    pub why: String,
}

/// `body` without the fields behind `error`, or `None` when `error` is not about one field or
/// no such field was found (then the error stands).
pub fn without_refused_fields(body: &[u8], error: &ParseErrorKind) -> Option<(Vec<u8>, Skipped)> {
    let (refused, why): (Box<Refused>, String) = match error {
        ParseErrorKind::UnknownMimeType(mime) => {
            let why = format!("a text field of type {mime:?}, which feed-rs cannot read");
            let mime = mime.clone();
            (
                Box::new(move |start, _| type_attribute(start).as_deref() == Some(mime.as_str())),
                why,
            )
        }
        ParseErrorKind::MissingContent(what) if what.starts_with("content") => (
            Box::new(|start, empty| empty && start.local_name().as_ref() == b"content"),
            format!("an empty <content> ({what})"),
        ),
        _ => return None,
    };
    let spans = spans(body, &*refused);
    if spans.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut from = 0;
    for (start, end) in &spans {
        out.extend_from_slice(&body[from..*start]);
        from = *end;
    }
    out.extend_from_slice(&body[from..]);
    Some((
        out,
        Skipped {
            elements: spans.len(),
            why,
        },
    ))
}

/// The byte ranges of the text elements `refused` picks, outermost only. `refused` is told
/// whether the element has no text in it.
fn spans(body: &[u8], refused: &Refused) -> Vec<(usize, usize)> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = false;
    let mut spans = Vec::new();
    // An element that may be removed: where it starts, its depth, whether it is refused
    // already, and whether text was seen in it.
    let mut open: Option<(usize, usize, BytesStart<'static>, bool)> = None;
    let mut depth = 0usize;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(start) => {
                depth += 1;
                if open.is_none() && is_text_element(&start) {
                    open = Some((before, depth, start.into_owned(), false));
                }
            }
            Event::Empty(start)
                if open.is_none() && is_text_element(&start) && refused(&start, true) =>
            {
                spans.push((before, after));
            }
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => {
                if let Some((_, _, _, text)) = &mut open {
                    *text = true;
                }
            }
            Event::CData(_) | Event::GeneralRef(_) => {
                if let Some((_, _, _, text)) = &mut open {
                    *text = true;
                }
            }
            Event::End(_) => {
                if let Some((start_at, at, start, text)) = &open
                    && *at == depth
                {
                    if refused(start, !*text) {
                        spans.push((*start_at, after));
                    }
                    open = None;
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    spans
}

fn is_text_element(start: &BytesStart<'_>) -> bool {
    TEXT_ELEMENTS.contains(&start.local_name().as_ref())
}

/// The `type` attribute as feed-rs sees it (entities decoded, not trimmed).
fn type_attribute(start: &BytesStart<'_>) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == b"type")
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repaired(doc: &str, error: ParseErrorKind) -> Option<(String, usize)> {
        without_refused_fields(doc.as_bytes(), &error)
            .map(|(body, skipped)| (String::from_utf8(body).expect("utf-8"), skipped.elements))
    }

    #[test]
    fn only_the_elements_of_the_refused_type_go() {
        let doc = r#"<feed><title type="text">ok</title><entry><title type="application/octet-stream">aGk=</title><summary type="html">kept</summary></entry><entry><rights type='application/octet-stream'/></entry></feed>"#;
        let (out, n) = repaired(
            doc,
            ParseErrorKind::UnknownMimeType("application/octet-stream".into()),
        )
        .expect("repaired");
        assert_eq!(n, 2);
        assert_eq!(
            out,
            r#"<feed><title type="text">ok</title><entry><summary type="html">kept</summary></entry><entry></entry></feed>"#
        );
    }

    #[test]
    fn an_empty_type_and_empty_inline_content() {
        let doc = r#"<feed><entry><title type="">t</title><content type="image/png"></content><content type="image/png">iVBO</content></entry></feed>"#;
        let (out, _) =
            repaired(doc, ParseErrorKind::UnknownMimeType(String::new())).expect("repaired");
        assert!(!out.contains("<title"), "{out}");
        let (out, n) =
            repaired(doc, ParseErrorKind::MissingContent("content.inline")).expect("repaired");
        assert_eq!(n, 1);
        assert!(
            out.contains("iVBO") && out.matches("<content").count() == 1,
            "{out}"
        );
    }

    #[test]
    fn other_errors_and_absent_fields_are_left_alone() {
        let doc = r#"<feed><title>t</title></feed>"#;
        assert_eq!(repaired(doc, ParseErrorKind::NoFeedRoot), None);
        assert_eq!(
            repaired(doc, ParseErrorKind::UnknownMimeType("x/y".into())),
            None
        );
    }
}
