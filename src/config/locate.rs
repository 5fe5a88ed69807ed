//! Find the line of a key path (`sources[1].url`) in the TOML text, for error messages.

use std::ops::Range;

use toml_edit::{Document, Item, TableLike, Value};

/// 1-based line of the key at `path`, or of the deepest enclosing key or table that exists.
pub fn line_of(text: &str, path: &str) -> Option<usize> {
    let doc = Document::parse(text).ok()?;
    let segments = split_path(path);
    let span = walk_table(doc.as_table(), &segments)?;
    let offset = span.start.min(text.len());
    Some(text[..offset].matches('\n').count() + 1)
}

fn walk_table(table: &dyn TableLike, segments: &[Segment<'_>]) -> Option<Range<usize>> {
    let (first, rest) = segments.split_first()?;
    let Segment::Key(key) = first else {
        return None;
    };
    let (key, item) = table.get_key_value(key)?;
    walk_item(item, rest).or_else(|| key.span())
}

fn walk_item(item: &Item, segments: &[Segment<'_>]) -> Option<Range<usize>> {
    let (first, rest) = segments.split_first()?;
    match (first, item) {
        (Segment::Index(i), Item::ArrayOfTables(aot)) => {
            let table = aot.get(*i)?;
            walk_table(table, rest).or_else(|| table.span())
        }
        (Segment::Index(i), Item::Value(Value::Array(array))) => {
            let value = array.get(*i)?;
            walk_value(value, rest).or_else(|| value.span())
        }
        (Segment::Key(_), _) => walk_table(item.as_table_like()?, segments),
        _ => None,
    }
}

fn walk_value(value: &Value, segments: &[Segment<'_>]) -> Option<Range<usize>> {
    match value {
        Value::InlineTable(table) => walk_table(table, segments),
        _ => None,
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn split_path(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            if let Ok(i) = stripped[..end].parse() {
                out.push(Segment::Index(i));
            }
            rest = &stripped[end + 1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[server]\nlisten = \"x\"\n\n[[sources]]\nid = \"a\"\n\n[[sources]]\nid = \"b\"\nintervall = \"5m\"\nsecret = [\"a\", \"b\"]\n";

    #[test]
    fn finds_keys_in_arrays_of_tables() {
        assert_eq!(line_of(TEXT, "server.listen"), Some(2));
        assert_eq!(line_of(TEXT, "sources[1].intervall"), Some(9));
        assert_eq!(line_of(TEXT, "sources[0].id"), Some(5));
        assert_eq!(line_of(TEXT, "sources[1].secret[1]"), Some(10));
    }

    #[test]
    fn falls_back_to_the_enclosing_table() {
        assert_eq!(line_of(TEXT, "sources[1].missing"), Some(7));
        assert_eq!(line_of(TEXT, "nowhere"), None);
    }
}
