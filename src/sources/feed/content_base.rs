//! The `xml:base` in scope at each entry's content, which feed-rs 2.4 does not keep.
//!
//! Relative URLs inside Atom content (`<img src="cat.jpg">` in HTML content) are relative to the
//! `xml:base` in scope at the `<content>` element (RFC 4287 §2, XML Base), which may be set on the
//! content element itself and differ from the entry's link. feed-rs applies `xml:base` to links
//! and media URLs but returns the content as a string with no base, so the scope is read here,
//! in a side scan run only for documents that contain `xml:base` at all.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use url::Url;

/// Per entry (`<entry>` / `<item>`) in document order: the base for URLs in its content (or,
/// without content, its summary), when an `xml:base` is in scope there. `None` when no
/// `xml:base` applies, so the caller keeps its own choice (the entry's link).
///
/// `document` is the URL the feed was fetched from: the base of a relative `xml:base`.
pub fn content_bases(body: &[u8], document: &Url) -> Vec<Option<Url>> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = false;
    // Bases in scope: (element depth that set it, the resolved base).
    let mut scope: Vec<(usize, Url)> = Vec::new();
    let mut out: Vec<Option<Url>> = Vec::new();
    // The depth of the entry being read, and whether its content has been seen (content wins
    // over summary).
    let mut entry: Option<(usize, bool)> = None;
    let mut depth = 0usize;
    loop {
        let (start, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(_)) => {
                scope.retain(|(at, _)| *at < depth);
                if entry.is_some_and(|(at, _)| at == depth) {
                    entry = None;
                }
                depth = depth.saturating_sub(1);
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => continue,
        };
        depth += 1;
        if let Some(base) = xml_base(&start) {
            let parent = scope.last().map_or(document, |(_, url)| url);
            if let Ok(resolved) = parent.join(&base) {
                scope.push((depth, resolved));
            }
        }
        let local = start.local_name();
        match (entry, local.as_ref()) {
            (None, b"entry" | b"item") => {
                out.push(None);
                entry = Some((depth, false));
            }
            (Some((at, content_seen)), name @ (b"content" | b"summary" | b"description"))
                if !content_seen =>
            {
                if let Some(slot) = out.last_mut() {
                    *slot = scope.last().map(|(_, url)| url.clone());
                }
                entry = Some((at, name == b"content"));
            }
            _ => {}
        }
        if empty {
            // An empty element opens and closes at once.
            scope.retain(|(at, _)| *at < depth);
            if entry.is_some_and(|(at, _)| at == depth) {
                entry = None;
            }
            depth -= 1;
        }
    }
    out
}

/// The element's `xml:base` attribute, entity references decoded.
fn xml_base(start: &BytesStart<'_>) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == b"xml:base")
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_string())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bases(doc: &str) -> Vec<Option<String>> {
        let document = Url::parse("https://feeds.example/a/feed.atom").expect("url");
        content_bases(doc.as_bytes(), &document)
            .into_iter()
            .map(|b| b.map(String::from))
            .collect()
    }

    #[test]
    fn the_base_in_scope_at_the_content_element() {
        let doc = r#"<feed xml:base="/journal/">
            <entry xml:base="2024/"><content type="html" xml:base="https://cdn.example/m/">x</content></entry>
            <entry><summary>s</summary><content>c</content></entry>
            <entry xml:base="https://other.example/p/"><link href="l"/><summary>s</summary></entry>
        </feed>"#;
        assert_eq!(
            bases(doc),
            [
                Some("https://cdn.example/m/".into()),
                Some("https://feeds.example/journal/".into()),
                Some("https://other.example/p/".into()),
            ]
        );
    }

    #[test]
    fn no_xml_base_means_none_and_scopes_end_with_their_element() {
        let doc = r#"<feed><entry><content>x</content></entry>
            <entry><link xml:base="https://x.example/" href="a"/><content>y</content></entry></feed>"#;
        assert_eq!(bases(doc), [None, None]);
    }
}
