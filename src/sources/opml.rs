//! OPML, the feed readers' subscription-list format: read one into feed subscriptions (nested
//! outlines become categories that routes can match) and write subscriptions back out.
//!
//! Readers disagree on details, so the reader is lenient where they differ and strict where a
//! mistake would add the wrong thing: `xmlUrl` in any letter case, category outlines with or
//! without an (empty) `xmlUrl`, `text` or `title` for names, feeds at any depth. A malformed
//! document, a non-http(s) or unparsable feed URL and a URL listed twice are problems, each with
//! its line, and a list with any problem yields no feeds at all (nothing is half-added).

use std::collections::HashMap;
use std::fmt;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One feed subscription read from (or written to) OPML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpmlFeed {
    /// The feed's address (`xmlUrl`).
    pub url: String,
    /// `title`, else `text`, when the outline has one.
    pub title: Option<String>,
    /// The site's address (`htmlUrl`).
    pub html_url: Option<String>,
    /// The names of the enclosing outlines, outermost first.
    pub categories: Vec<String>,
    /// The line of the outline in the document (1-based; 0 for feeds not read from a file).
    pub line: usize,
}

/// Something wrong with one line of an OPML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpmlProblem {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for OpmlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Read the feeds of an OPML document. Any problem (malformed XML, not OPML, a feed URL that is
/// not http(s), the same URL twice) is reported with its line, and then no feed is returned.
pub fn parse(bytes: &[u8]) -> Result<Vec<OpmlFeed>, Vec<OpmlProblem>> {
    let lines = LineIndex::new(bytes);
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut problems = Vec::new();
    let mut feeds: Vec<OpmlFeed> = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    // Open elements, and for each open outline the category name it gives its children.
    let mut path: Vec<Open> = Vec::new();
    let mut saw_root = false;
    let mut saw_body = false;
    loop {
        let at = reader.buffer_position() as usize;
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => {
                let line = lines.line_of(reader.error_position() as usize);
                problems.push(OpmlProblem {
                    line,
                    message: format!("not well-formed XML: {e}"),
                });
                return Err(problems);
            }
        };
        let (start, empty) = match &event {
            Event::Start(start) => (Some(start.clone()), false),
            Event::Empty(start) => (Some(start.clone()), true),
            Event::End(_) => {
                path.pop();
                (None, false)
            }
            Event::Eof => break,
            Event::DocType(_) => {
                // A DTD could declare entities; OPML needs none, and none are expanded.
                (None, false)
            }
            _ => (None, false),
        };
        let Some(start) = start else {
            buf.clear();
            continue;
        };
        let line = lines.line_of(at + leading_space(&bytes[at.min(bytes.len())..]));
        let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        if !saw_root {
            saw_root = true;
            if name != "opml" {
                problems.push(OpmlProblem {
                    line,
                    message: format!(
                        "not an OPML document: the root element is <{name}>, not <opml>"
                    ),
                });
                return Err(problems);
            }
        }
        if name == "body" && path.len() == 1 {
            saw_body = true;
        }
        let mut category = None;
        if name == "outline" && path.iter().any(|o| o.name == "body") {
            match read_outline(&reader, &start) {
                Ok(outline) => {
                    let categories: Vec<String> =
                        path.iter().filter_map(|o| o.category.clone()).collect();
                    match outline.xml_url {
                        Some(url) => {
                            match check_feed_url(&url) {
                                Err(message) => problems.push(OpmlProblem { line, message }),
                                Ok(url) => match first_line_of.get(&url) {
                                    Some(first) => problems.push(OpmlProblem {
                                        line,
                                        message: format!(
                                            "the feed {url} is listed twice (first on line {first})"
                                        ),
                                    }),
                                    None => {
                                        first_line_of.insert(url.clone(), line);
                                        feeds.push(OpmlFeed {
                                            url,
                                            title: outline.name.clone(),
                                            html_url: outline.html_url,
                                            categories,
                                            line,
                                        });
                                    }
                                },
                            }
                            // A feed outline with children (some readers nest that way) names
                            // their category too.
                            category = outline.name;
                        }
                        None => category = outline.name,
                    }
                }
                Err(message) => problems.push(OpmlProblem { line, message }),
            }
        }
        if !empty {
            path.push(Open { name, category });
        }
        buf.clear();
    }
    if !saw_root {
        problems.push(OpmlProblem {
            line: 1,
            message: "the document is empty: no <opml> element".into(),
        });
    } else if !saw_body {
        problems.push(OpmlProblem {
            line: 1,
            message: "the <opml> document has no <body>".into(),
        });
    }
    if problems.is_empty() {
        Ok(feeds)
    } else {
        Err(problems)
    }
}

/// Write feeds as an OPML 2.0 document, nested by their categories so that reading it back
/// gives the same feeds with the same categories.
pub fn export(feeds: &[OpmlFeed], title: &str) -> String {
    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n");
    out.push_str(&format!(
        "  <head>\n    <title>{}</title>\n  </head>\n  <body>\n",
        escape(title)
    ));
    let mut sorted: Vec<&OpmlFeed> = feeds.iter().collect();
    // Stable: feeds keep their order within a category.
    sorted.sort_by(|a, b| a.categories.cmp(&b.categories));
    let mut open: Vec<&str> = Vec::new();
    for feed in sorted {
        let common = open
            .iter()
            .zip(&feed.categories)
            .take_while(|(a, b)| **a == b.as_str())
            .count();
        while open.len() > common {
            open.pop();
            out.push_str(&format!("{}</outline>\n", indent(open.len())));
        }
        for category in &feed.categories[common..] {
            out.push_str(&format!(
                "{}<outline text=\"{}\" title=\"{}\">\n",
                indent(open.len()),
                escape(category),
                escape(category)
            ));
            open.push(category);
        }
        let name = feed.title.as_deref().unwrap_or(&feed.url);
        out.push_str(&format!(
            "{}<outline type=\"rss\" text=\"{}\" title=\"{}\" xmlUrl=\"{}\"",
            indent(open.len()),
            escape(name),
            escape(name),
            escape(&feed.url)
        ));
        if let Some(html) = &feed.html_url {
            out.push_str(&format!(" htmlUrl=\"{}\"", escape(html)));
        }
        out.push_str("/>\n");
    }
    while !open.is_empty() {
        open.pop();
        out.push_str(&format!("{}</outline>\n", indent(open.len())));
    }
    out.push_str("  </body>\n</opml>\n");
    out
}

/// A source id for a feed: its title (or host) as lowercase letters, digits and `-`, made
/// unique against `taken` with `-2`, `-3`, …
pub fn source_id_for(feed: &OpmlFeed, taken: &dyn Fn(&str) -> bool) -> String {
    let host = url::Url::parse(&feed.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    let base = [feed.title.as_deref(), host.as_deref()]
        .into_iter()
        .flatten()
        .map(slug)
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "feed".to_string());
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or(base)
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 48 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

struct Open {
    name: String,
    /// The category this outline gives the outlines inside it.
    category: Option<String>,
}

struct Outline {
    xml_url: Option<String>,
    html_url: Option<String>,
    /// `title`, else `text`.
    name: Option<String>,
}

fn read_outline(reader: &Reader<&[u8]>, start: &BytesStart<'_>) -> Result<Outline, String> {
    let mut outline = Outline {
        xml_url: None,
        html_url: None,
        name: None,
    };
    let mut text = None;
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("a malformed attribute: {e}"))?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).to_lowercase();
        let value = attribute
            .decoded_and_normalized_value(quick_xml::XmlVersion::default(), reader.decoder())
            .map_err(|e| format!("the attribute `{key}` cannot be read: {e}"))?
            .trim()
            .to_string();
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "xmlurl" => outline.xml_url = Some(value),
            "htmlurl" => outline.html_url = Some(value),
            "title" => outline.name = Some(value),
            "text" => text = Some(value),
            _ => {}
        }
    }
    if outline.name.is_none() {
        outline.name = text;
    }
    Ok(outline)
}

/// The URL, normalised by parsing, if it is an absolute http(s) URL.
fn check_feed_url(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw)
        .map_err(|e| format!("the feed address `{raw}` is not a valid URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url.to_string()),
        other => Err(format!(
            "the feed address `{raw}` uses `{other}:`; only http and https feeds can be polled"
        )),
    }
}

fn leading_space(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_whitespace()).count()
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth + 2)
}

fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

/// Byte offset → line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(bytes: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|start| *start <= offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_counted_from_one() {
        let index = LineIndex::new(b"a\nb\nc");
        assert_eq!(index.line_of(0), 1);
        assert_eq!(index.line_of(2), 2);
        assert_eq!(index.line_of(4), 3);
    }

    #[test]
    fn ids_are_slugs_made_unique() {
        let feed = OpmlFeed {
            url: "https://example.com/feed".into(),
            title: Some("Ünïcode & Friends: Blog!".into()),
            html_url: None,
            categories: vec![],
            line: 0,
        };
        assert_eq!(source_id_for(&feed, &|_| false), "n-code-friends-blog");
        let taken = |id: &str| id == "n-code-friends-blog" || id == "n-code-friends-blog-2";
        assert_eq!(source_id_for(&feed, &taken), "n-code-friends-blog-3");
        let untitled = OpmlFeed {
            title: None,
            ..feed
        };
        assert_eq!(source_id_for(&untitled, &|_| false), "example-com");
    }
}
