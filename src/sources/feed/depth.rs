//! A nesting limit checked before a document reaches feed-rs.
//!
//! feed-rs 2.4 walks XML recursively (its MediaRSS parser calls itself for each nested
//! `<media:content>` / `<media:group>`), so a document nested a few thousand levels deep overflows
//! the stack of the thread parsing it. A stack overflow is not a panic: it aborts the whole
//! process, every source and webhook with it, and the next poll of the same feed does it again.
//! So every document is scanned once, streaming and without building anything, and one nested
//! deeper than [`MAX_NESTING`] is refused with an error for that feed only.
//!
//! JSON Feeds are scanned too: serde_json stops at its own recursion limit (128) with an error,
//! which is safe, but the scan gives the same clear message for both kinds of document.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::sources::poll::error::FeedError;

/// The deepest element (or JSON array/object) nesting accepted.
///
/// Real feeds stay within about 15 levels (`rss > channel > item > media:group > media:content >
/// media:thumbnail`, or XHTML content a few `<div>`s deep); 100 leaves room for odd but honest
/// documents while staying far below what overflows feed-rs on a 2 MiB thread stack (a few
/// thousand levels) and below serde_json's own limit of 128.
pub const MAX_NESTING: usize = 100;

/// Refuses `body` when it nests deeper than `limit`.
///
/// Malformed markup is not this check's business, but the scan must not stop where the parser
/// goes on: feed-rs reads past errors quick-xml can recover from (an empty `<!DOCTYPE>` inside
/// a `<title>` is swallowed by its text handling), so the scan reads on after every error that
/// leaves the reader further along, and stops only at the end or where it makes no progress.
pub fn check(body: &[u8], is_json: bool, limit: usize) -> Result<(), FeedError> {
    let deepest = if is_json {
        json_depth(body, limit)
    } else {
        xml_depth(body, limit)
    };
    if deepest > limit {
        return Err(FeedError::parse(format!(
            "the document is nested deeper than {limit} levels, which no real feed needs \
             (refused before parsing: such nesting can exhaust the parser's stack)"
        )));
    }
    Ok(())
}

/// The deepest element nesting, or the first level past `limit` once it is reached.
fn xml_depth(body: &[u8], limit: usize) -> usize {
    let mut reader = Reader::from_reader(body);
    // Only counting: end tags need not match names (the parser judges that), and nothing is
    // unescaped or trimmed.
    reader.config_mut().check_end_names = false;
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut stuck_at = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > limit {
                    return depth;
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return deepest,
            // Each error that moves the reader on is passed over (bounded by the body's length).
            Err(_) if stuck_at == Some(reader.buffer_position()) => return deepest,
            Err(_) => stuck_at = Some(reader.buffer_position()),
            Ok(_) => {}
        }
    }
}

/// The deepest array/object nesting of a JSON text, strings skipped.
fn json_depth(body: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut rest = body;
    // Jump between the bytes that matter; string contents are skipped whole.
    while let Some(at) = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'[' | b'{' | b']' | b'}'))
    {
        match rest[at] {
            b'"' => {
                let Some(end) = string_end(&rest[at + 1..]) else {
                    return deepest;
                };
                rest = &rest[at + 1 + end + 1..];
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > limit {
                    return depth;
                }
            }
            _ => depth = depth.saturating_sub(1),
        }
        rest = &rest[at + 1..];
    }
    deepest
}

/// The index of the quote closing a JSON string whose contents start `text`.
fn string_end(text: &[u8]) -> Option<usize> {
    let mut from = 0;
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', &text[from..])?;
        if text[at] == b'"' {
            return Some(at);
        }
        // A backslash escapes the next byte, whatever it is.
        from = at + 2;
        if from > text.len() {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_xml(levels: usize) -> Vec<u8> {
        let mut doc = String::from("<?xml version=\"1.0\"?><!-- <a><a><a> -->");
        doc.push_str(&"<a x=\"<b>\">".repeat(levels));
        doc.push_str("<![CDATA[<c><c>]]><e/>");
        doc.push_str(&"</a>".repeat(levels));
        doc.into_bytes()
    }

    #[test]
    fn xml_depth_counts_elements_only() {
        // Comments, CDATA, attribute values and empty elements do not nest.
        assert_eq!(xml_depth(&nested_xml(3), 100), 3);
        assert_eq!(xml_depth(&nested_xml(100), 100), 100);
        assert_eq!(xml_depth(&nested_xml(101), 100), 101);
        assert!(check(&nested_xml(100), false, 100).is_ok());
        let err = check(&nested_xml(101), false, 100).expect_err("too deep");
        assert!(err.to_string().contains("nested deeper than 100"), "{err}");
    }

    #[test]
    fn xml_depth_stops_early_and_leaves_syntax_errors_to_the_parser() {
        // Stops at limit + 1 without reading the rest.
        assert_eq!(xml_depth(&nested_xml(5000), 10), 11);
        assert_eq!(xml_depth(b"<a><b></a></b><c", 100), 2);
        assert_eq!(xml_depth(b"not xml at all", 100), 0);
    }

    #[test]
    fn an_error_the_parser_reads_past_does_not_end_the_scan() {
        // feed-rs swallows the empty DOCTYPE inside <title> and goes on into the nesting.
        let mut doc = String::from(
            "<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\">\
             <channel><item><title><!DOCTYPE></title>",
        );
        doc.push_str(&"<media:group>".repeat(5000));
        let err = check(doc.as_bytes(), false, 100).expect_err("too deep past the error");
        assert!(err.to_string().contains("nested deeper than 100"), "{err}");
    }

    #[test]
    fn json_depth_skips_strings_and_escapes() {
        let doc = br#"{"a": "[[[{{{", "b": ["\"[[", {"c": "\\"}], "d": "\\\"{"}"#;
        assert_eq!(json_depth(doc, 100), 3);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(json_depth(deep.as_bytes(), 100), 101);
        assert!(check(deep.as_bytes(), true, 100).is_err());
        assert_eq!(json_depth(br#"{"unterminated": "[[["#, 100), 1);
    }
}
