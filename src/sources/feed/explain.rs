//! A feed-rs error in words a user can act on: what is wrong with the document, and for an
//! HTML page where its feed is.

use feed_rs::parser::{ParseErrorKind, ParseFeedError};
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::sources::poll::error::FeedError;

/// RSS versions feed-rs 2.4 reads (it compares the `version` attribute exactly).
const RSS_VERSIONS: [&str; 3] = ["2.0", "0.91", "0.92"];

/// A feed-rs error in words, with a hint when the body is an HTML page instead of a feed.
pub(crate) fn explain(err: ParseFeedError, body: &[u8]) -> FeedError {
    // Text in a charset pinbridge cannot decode looks like neither XML nor JSON; saying "no
    // root" or "malformed JSON" about it would send the user looking in the wrong place.
    if matches!(
        err,
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) | ParseFeedError::JsonSerde(_)
    ) && let Some(reason) = unreadable_charset(body)
    {
        return FeedError::parse(reason);
    }
    match err {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => {
            if looks_like_html(body) {
                let hint = match discover_feed_link(body) {
                    Some(link) => format!("; the page names a feed at {link}, use that as `url`"),
                    None => {
                        "; set `url` to the address of the site's RSS, Atom or JSON feed".into()
                    }
                };
                FeedError::parse(format!("this is an HTML page, not a feed{hint}"))
            } else {
                FeedError::parse(no_feed_reason(body))
            }
        }
        ParseFeedError::ParseError(kind) => FeedError::parse(kind.to_string()),
        ParseFeedError::XmlReader(e) => FeedError::parse(format!("malformed XML: {e}")),
        ParseFeedError::JsonSerde(e) => FeedError::parse(format!("malformed JSON Feed: {e}")),
        ParseFeedError::JsonUnsupportedVersion(v) => FeedError::parse(format!(
            "unsupported JSON Feed version `{v}` (expected https://jsonfeed.org/version/1 or 1.1)"
        )),
        ParseFeedError::IoError(e) => FeedError::parse(format!("could not read the body: {e}")),
    }
}

fn looks_like_html(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html")
}

/// `<link rel="alternate" type="application/rss+xml" href="…">` in an HTML page.
fn discover_feed_link(body: &[u8]) -> Option<String> {
    let html = String::from_utf8_lossy(body);
    let selector = scraper::Selector::parse("link[rel~=alternate][href][type]").ok()?;
    let doc = scraper::Html::parse_document(&html);
    doc.select(&selector).find_map(|link| {
        let kind = link.value().attr("type")?.to_ascii_lowercase();
        let is_feed = ["rss", "atom", "feed+json", "rdf"]
            .iter()
            .any(|k| kind.contains(k));
        is_feed
            .then(|| link.value().attr("href").map(str::to_owned))
            .flatten()
    })
}

/// Why `body` cannot be XML or JSON as decoded: NUL bytes (UTF-32, or UTF-16 without a
/// byte-order mark or declaration), or a first character that is neither `<` nor `{` (EBCDIC
/// and other charsets that are not ASCII-compatible).
fn unreadable_charset(body: &[u8]) -> Option<String> {
    let body = body.strip_prefix("\u{feff}".as_bytes()).unwrap_or(body);
    let first = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[..body.len().min(first + 64)].contains(&0) {
        return Some(
            "the document has NUL bytes between its characters: UTF-32, or UTF-16 without a byte-order mark, which pinbridge cannot read; serve it as UTF-8".into(),
        );
    }
    (!matches!(body[first], b'<' | b'{')).then(|| {
        "the document starts with neither `<` nor `{`: it is not XML or JSON in a charset pinbridge reads (EBCDIC, for one, is not supported); serve it as UTF-8".into()
    })
}

/// Why feed-rs found no feed in an XML or JSON document ("no feed root"), as true as the
/// document's first element allows: feed-rs also says "no root" for an `<rss>` without a
/// `<channel>` and for an `<rss>` version it does not read.
fn no_feed_reason(body: &[u8]) -> String {
    let is_json = body.iter().find(|b| **b == b'<' || **b == b'{') == Some(&b'{');
    let Some((name, version)) = (!is_json).then(|| root_element(body)).flatten() else {
        return "no RSS, Atom or JSON Feed found (the document is neither an XML feed nor a JSON Feed object)".into();
    };
    let local = name.rsplit(':').next().unwrap_or(&name);
    match (local, version) {
        ("rss", Some(v)) if !RSS_VERSIONS.contains(&v.as_str()) => format!(
            "the <rss> root has version=\"{v}\", which cannot be read (only RSS 0.91, 0.92 and 2.0)"
        ),
        ("rss", None) => "the <rss> root has no version attribute, which is needed to read it (RSS 0.91, 0.92 or 2.0)".into(),
        ("rss", Some(_)) => "the <rss> document has no <channel> element, where an RSS feed's items live".into(),
        ("RDF", _) => "the <rdf:RDF> document has no RSS 1.0 <channel>".into(),
        _ => format!(
            "no RSS, Atom or JSON Feed found (the document's root is <{name}>, not <rss>, <feed>, <rdf:RDF> or a JSON Feed object)"
        ),
    }
}

/// The first element's name and `version` attribute.
fn root_element(body: &[u8]) -> Option<(String, Option<String>)> {
    let mut reader = Reader::from_reader(body);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let version = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"version")
                    .and_then(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(|v| v.into_owned())
                    });
                return Some((name, version));
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::no_feed_reason;

    #[test]
    fn the_true_reason_for_no_feed() {
        let reason = |doc: &str| no_feed_reason(doc.as_bytes());
        assert!(
            reason(
                r#"<?xml version="1.0"?><rss version="2.0"><item><title>t</title></item></rss>"#
            )
            .contains("no <channel>")
        );
        assert!(reason(r#"<rss version="1.5"><channel/></rss>"#).contains("version=\"1.5\""));
        assert!(reason("<rss><channel/></rss>").contains("no version attribute"));
        assert!(reason("<opml version=\"2.0\"/>").contains("root is <opml>"));
        assert!(reason("[1, 2]").contains("neither"));
    }

    #[test]
    fn undecodable_charsets_are_named_as_such() {
        use super::unreadable_charset;
        let utf32: Vec<u8> = "<?xml version='1.0'?><rss/>"
            .chars()
            .flat_map(|c| (c as u32).to_le_bytes())
            .collect();
        assert!(unreadable_charset(&utf32).is_some_and(|r| r.contains("NUL")));
        // "<?xml" in EBCDIC (code page 037).
        let ebcdic = [0x4c, 0x6f, 0xa7, 0x94, 0x93, 0x40];
        assert!(unreadable_charset(&ebcdic).is_some_and(|r| r.contains("EBCDIC")));
        assert_eq!(unreadable_charset(b"  <rss/>"), None);
        assert_eq!(unreadable_charset("\u{feff}{\"a\":1}".as_bytes()), None);
    }
}
