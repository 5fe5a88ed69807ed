//! Bringing a fetched document to what feed-rs 2.4 reads well, before parsing:
//! - XML in any charset becomes UTF-8 (byte-order mark, then the XML declaration, then the
//!   Content-Type `charset`, then UTF-8 if valid, else Windows-1252 as browsers do), and the
//!   declaration is rewritten to say UTF-8 so nothing decodes it twice;
//! - an `<rss>` root without a version (or with one feed-rs does not know) is read as RSS 2.0
//!   (feed-rs rejects it: reported to feed-rs as #275);
//! - JSON Feed items with numeric ids and feeds without a title (both common, both fatal in
//!   feed-rs) are repaired.
//!
//! Everything here is total: any bytes in, some bytes out, never a panic.

use std::borrow::Cow;
use std::ops::Range;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// The document as feed-rs should see it.
pub fn normalize<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, [u8]> {
    let sniffed = Encoding::for_bom(body).or_else(|| utf16_without_bom(body));
    let (bom_encoding, bom_len) = sniffed.unwrap_or((UTF_8, 0));
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
    let encoding = if sniffed.is_some() {
        bom_encoding
    } else if let Some(enc) = declared.and_then(label) {
        enc
    } else if let Some(enc) = content_type
        .and_then(charset_param)
        .as_deref()
        .and_then(label)
    {
        enc
    } else if Encoding::utf8_valid_up_to(body) == body.len() {
        UTF_8
    } else {
        WINDOWS_1252
    };
    // Borrowed when the bytes are valid UTF-8 already (encoding_rs validates with SIMD, several
    // times faster than `String::from_utf8_lossy`); invalid sequences become U+FFFD.
    let text: Cow<'a, str> = encoding.decode_without_bom_handling(&body[bom_len..]).0;
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

/// UTF-16 without a byte-order mark, told by how `<?` is spelled (XML 1.0 Appendix F.1), as
/// `Encoding::for_bom` answers, with nothing to skip.
fn utf16_without_bom(body: &[u8]) -> Option<(&'static Encoding, usize)> {
    match body.get(..4)? {
        [0, b'<', 0, b'?'] => Some((encoding_rs::UTF_16BE, 0)),
        [b'<', 0, b'?', 0] => Some((encoding_rs::UTF_16LE, 0)),
        _ => None,
    }
}

fn label(name: &str) -> Option<&'static Encoding> {
    let enc = Encoding::for_label(name.trim().as_bytes())?;
    // A document that reached us as bytes cannot really be UTF-16 without a BOM; such labels
    // are wrong in practice, and encoding_rs maps "replacement" labels to an encoding that
    // would discard the text.
    (enc.is_ascii_compatible() && enc != encoding_rs::REPLACEMENT).then_some(enc)
}

/// Where the XML declaration's `encoding` label sits in `body` (ASCII bytes), when the
/// document opens with a declaration that names one. Only the first 512 bytes are read.
fn declared_encoding_at(body: &[u8]) -> Option<Range<usize>> {
    let head = &body[..body.len().min(512)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let decl = head[start..].strip_prefix(b"<?xml")?;
    let offset = start + "<?xml".len();
    let decl = &decl[..decl.iter().position(|&b| b == b'>').unwrap_or(decl.len())];
    // `encoding`, optional spaces, `=`, optional spaces, a quoted label.
    memchr::memmem::find_iter(decl, b"encoding").find_map(|at| {
        let mut i = skip_ascii_whitespace(decl, at + "encoding".len());
        (decl.get(i) == Some(&b'=')).then_some(())?;
        i = skip_ascii_whitespace(decl, i + 1);
        matches!(decl.get(i), Some(b'"' | b'\'')).then_some(())?;
        let label = i + 1;
        let len = decl[label..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || b"._:-".contains(b))
            .count();
        let closed = matches!(decl.get(label + len), Some(b'"' | b'\''));
        (len > 0 && closed).then(|| offset + label..offset + label + len)
    })
}

fn skip_ascii_whitespace(bytes: &[u8], from: usize) -> usize {
    from + bytes[from.min(bytes.len())..]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()
}

/// The `encoding` of the XML declaration.
fn declared_encoding(body: &[u8]) -> Option<&str> {
    declared_encoding_at(body).and_then(|at| std::str::from_utf8(&body[at]).ok())
}

fn utf8_declaration(text: &str) -> String {
    match declared_encoding_at(text.as_bytes()) {
        Some(at) => format!("{}UTF-8{}", &text[..at.start], &text[at.end..]),
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
    let start = root_start(text)?;
    let after_name = text[start..].strip_prefix("<rss")?;
    // `<rss>`, or `<rss` and whitespace and attributes, up to the first `>`.
    let attrs = &after_name[..after_name.find('>')?];
    if !attrs.is_empty() && !attrs.starts_with(char::is_whitespace) {
        return None;
    }
    let fixed_attrs = match version_attribute(attrs) {
        Some((_, value)) if matches!(value.trim(), "2.0" | "0.91" | "0.92") => return None,
        Some((span, _)) => format!(
            r#"{} version="2.0"{}"#,
            &attrs[..span.start],
            &attrs[span.end..]
        ),
        None => {
            let (body, slash) = match attrs.strip_suffix('/') {
                Some(body) => (body, "/"),
                None => (attrs, ""),
            };
            format!(r#"{body} version="2.0"{slash}"#)
        }
    };
    let tag_end = start + "<rss".len() + attrs.len() + ">".len();
    Some(format!(
        "{}<rss{fixed_attrs}>{}",
        &text[..start],
        &text[tag_end..]
    ))
}

/// Where the root element starts: after the whitespace, processing instructions, comments and
/// doctype of the prolog. `None` when one of those is never closed.
fn root_start(text: &str) -> Option<usize> {
    let mut at = 0;
    loop {
        let rest = &text[at..];
        let trimmed = rest.trim_start();
        at += rest.len() - trimmed.len();
        let skipped = if let Some(instruction) = trimmed.strip_prefix("<?") {
            instruction.find("?>")? + "<?".len() + "?>".len()
        } else if let Some(comment) = trimmed.strip_prefix("<!--") {
            comment.find("-->")? + "<!--".len() + "-->".len()
        } else if trimmed.starts_with("<!DOCTYPE") {
            trimmed.find('>')? + 1
        } else {
            return Some(at);
        };
        at += skipped;
    }
}

/// The first ` version="…"` (or `'…'`) of a tag's attributes: its span, from the whitespace
/// before the name to the closing quote, and its value.
fn version_attribute(attrs: &str) -> Option<(Range<usize>, &str)> {
    let skip_whitespace = |i: usize| i + attrs[i..].len() - attrs[i..].trim_start().len();
    attrs.match_indices("version").find_map(|(at, _)| {
        let space = attrs[..at]
            .chars()
            .next_back()
            .filter(|c| c.is_whitespace())?;
        let mut i = skip_whitespace(at + "version".len());
        attrs[i..].starts_with('=').then_some(())?;
        i = skip_whitespace(i + 1);
        let quote = attrs[i..]
            .chars()
            .next()
            .filter(|q| matches!(q, '"' | '\''))?;
        let value_start = i + 1;
        let value_end = value_start + attrs[value_start..].find(quote)?;
        Some((
            at - space.len_utf8()..value_end + 1,
            &attrs[value_start..value_end],
        ))
    })
}

/// Repairs for JSON Feeds feed-rs would reject; `None` when nothing needed fixing.
fn repair_json(body: &[u8]) -> Option<Vec<u8>> {
    if json_is_sound(body) {
        return None;
    }
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

/// Whether a JSON Feed surely needs no repair: a string title and no numeric item id. Read
/// into a struct that skips everything else, so the common case builds no document tree.
fn json_is_sound(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Feed {
        title: Option<serde_json::Value>,
        #[serde(default)]
        items: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        id: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Feed>(body).is_ok_and(|feed| {
        feed.title.is_some_and(|t| t.is_string())
            && !feed
                .items
                .iter()
                .any(|i| i.id.as_ref().is_some_and(|id| id.is_number()))
    })
}

#[cfg(test)]
mod tests;
