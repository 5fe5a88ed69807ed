//! Finding the `<img>` tags of an HTML fragment without building a tree of all of it.
//!
//! A feed item's content is often the whole post (WordPress's `content:encoded`: tens of KB of
//! HTML each), and parsing all of it with html5ever to read one tag cost more than parsing the
//! feed itself. The scan below only has to find where each `<img …>` tag starts and ends, skipping
//! what a browser would not read as markup (comments, `<script>`, `<style>`, `<textarea>`);
//! each tag's attributes are then read on their own. Two differences from html5ever's reading
//! of a fragment, on purpose or for want of a case: `<noscript>` content counts (lazy-loading
//! plugins keep the real image there, behind a `data:` placeholder), and an unescaped `<img`
//! inside another tag's quoted attribute value would be taken for a tag (feeds escape `<` there).

use std::borrow::Cow;

use markup5ever::data::NAMED_ENTITIES;
use memchr::{memchr, memchr3};

/// Each `<img …>` tag of `html` as written, in document order.
pub fn img_tags(html: &str) -> impl Iterator<Item = &str> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let bytes = html.as_bytes();
        while let Some(offset) = memchr(b'<', &bytes[at..]) {
            let start = at + offset;
            let rest = &bytes[start..];
            if rest.starts_with(b"<!--") {
                at = find_from(bytes, start + 4, b"-->").map_or(bytes.len(), |end| end + 3);
            } else if let Some(name) = ["script", "style", "textarea"]
                .into_iter()
                .find(|name| opens_element(rest, name))
            {
                // Raw text up to the matching end tag: nothing in it is markup.
                at = find_end_tag(bytes, start + 1 + name.len(), name).unwrap_or(bytes.len());
            } else if opens_element(rest, "img") {
                let end = tag_end(bytes, start + 4).unwrap_or(bytes.len());
                at = end;
                return Some(&html[start..end]);
            } else {
                at = start + 1;
            }
        }
        at = bytes.len();
        None
    })
}

/// The raw value of attribute `name` (ASCII, any case) in a tag as [`img_tags`] returns it;
/// the first one wins, as in HTML. Character references are left as written (see
/// [`decode_references`]).
pub fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let bytes = tag.as_bytes();
    // Past `<` and the element name.
    let mut at = 1 + bytes
        .get(1..)?
        .iter()
        .take_while(|b| !is_space(**b) && !matches!(b, b'/' | b'>'))
        .count();
    loop {
        at += bytes[at..]
            .iter()
            .take_while(|b| is_space(**b) || **b == b'/')
            .count();
        if at >= bytes.len() || bytes[at] == b'>' {
            return None;
        }
        // An attribute name may start with `=`; it ends at space, `/`, `>` or a later `=`.
        let name_len = 1 + bytes[at + 1..]
            .iter()
            .take_while(|b| !is_space(**b) && !matches!(b, b'/' | b'>' | b'='))
            .count();
        let attr_name = &tag[at..at + name_len];
        at += name_len;
        at += bytes[at..].iter().take_while(|b| is_space(**b)).count();
        let value = if bytes.get(at) == Some(&b'=') {
            at += 1;
            at += bytes[at..].iter().take_while(|b| is_space(**b)).count();
            match bytes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let len = memchr(quote, &bytes[at + 1..]).unwrap_or(bytes.len() - at - 1);
                    let value = &tag[at + 1..at + 1 + len];
                    at = (at + len + 2).min(bytes.len());
                    value
                }
                _ => {
                    let len = bytes[at..]
                        .iter()
                        .take_while(|b| !is_space(**b) && **b != b'>')
                        .count();
                    let value = &tag[at..at + len];
                    at += len;
                    value
                }
            }
        } else {
            ""
        };
        if attr_name.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
}

/// An attribute value with its character references decoded: numeric ones and every named
/// one of HTML's table, each with its `;`. `None` for what needs HTML's special cases (a named
/// reference without `;`, a code point HTML remaps or refuses): the caller then lets the HTML
/// parser read the tag.
pub fn decode_references(value: &str) -> Option<Cow<'_, str>> {
    if !value.contains('&') {
        return Some(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let name_len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
            .count();
        if name_len == 0 {
            // `&` followed by a space or punctuation is an ordinary character.
            out.push('&');
            rest = after;
            continue;
        }
        after[name_len..].starts_with(';').then_some(())?;
        push_reference(&mut out, &after[..=name_len])?;
        rest = &after[name_len + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// The characters a reference (`amp;`, `#8211;`, `#x2013;`, with its `;`) stands for, when
/// decoding it needs none of HTML's special cases.
fn push_reference(out: &mut String, name: &str) -> Option<()> {
    let Some(number) = name.strip_prefix('#') else {
        // The table also holds every prefix of a name, mapped to (0, 0): not a reference.
        let &(first, second) = NAMED_ENTITIES.get(name).filter(|(first, _)| *first != 0)?;
        out.push(char::from_u32(first)?);
        if second != 0 {
            out.push(char::from_u32(second)?);
        }
        return Some(());
    };
    let digits = number.strip_suffix(';')?;
    let code = match digits.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    // NUL, C0/C1 controls (HTML maps 0x80–0x9F through windows-1252) and non-characters are
    // left to the parser; `char::from_u32` refuses surrogates and values past U+10FFFF.
    let plain = code >= 0x20 && !(0x7f..=0x9f).contains(&code) && (code & 0xfffe) != 0xfffe;
    out.push(char::from_u32(code).filter(|_| plain)?);
    Some(())
}

/// HTML's ASCII whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Whether `rest` starts with the start tag `<name` (any case) followed by the end of the name.
fn opens_element(rest: &[u8], name: &str) -> bool {
    let Some(after) = rest.get(1..=name.len()) else {
        return false;
    };
    after.eq_ignore_ascii_case(name.as_bytes())
        && rest
            .get(1 + name.len())
            .is_none_or(|&b| b == b'>' || b == b'/' || is_space(b))
}

/// Just past the `>` that ends the tag whose attributes start at `from`; a `>` inside a quoted
/// attribute value does not end it.
fn tag_end(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        let i = at + memchr3(b'>', b'"', b'\'', bytes.get(at..)?)?;
        if bytes[i] == b'>' {
            return Some(i + 1);
        }
        // As the HTML tokenizer reads it: a quote opens a value only right after `=` (spaces
        // allowed); anywhere else it is an ordinary character.
        let before = bytes[from..i].iter().rev().find(|b| !is_space(**b));
        at = if before == Some(&b'=') {
            i + 1 + memchr(bytes[i], &bytes[i + 1..])? + 1
        } else {
            i + 1
        };
    }
}

/// Just past `</name …>` (any case) at or after `from`.
fn find_end_tag(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut at = from;
    loop {
        let start = find_from(bytes, at, b"</")?;
        let rest = &bytes[start + 1..];
        if opens_element(rest, name) {
            return Some(tag_end(bytes, start + 2 + name.len()).unwrap_or(bytes.len()));
        }
        at = start + 2;
    }
}

fn find_from(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes.get(from..)?, needle).map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(html: &str) -> Vec<&str> {
        img_tags(html).collect()
    }

    #[test]
    fn finds_each_img_tag_whole() {
        assert_eq!(
            tags(r#"<p>a <IMG SRC="/a.png" alt='x > y'> b <img src=/b.png/><imgx src=c></p>"#),
            vec![r#"<IMG SRC="/a.png" alt='x > y'>"#, "<img src=/b.png/>"]
        );
    }

    #[test]
    fn attributes_quoted_unquoted_and_bare() {
        let tag = r#"<img decoding=async loading SRC = "/a b.png" alt='it\'s' src="/second.png"/>"#;
        assert_eq!(attribute(tag, "src"), Some("/a b.png"));
        assert_eq!(attribute(tag, "decoding"), Some("async"));
        assert_eq!(attribute(tag, "loading"), Some(""));
        assert_eq!(attribute("<img src=/x.png/>", "src"), Some("/x.png/"));
        assert_eq!(attribute("<img/src='/y.png'>", "src"), Some("/y.png"));
        assert_eq!(attribute("<img alt=x>", "src"), None);
        // Unterminated: what is there is read, nothing panics.
        assert_eq!(attribute("<img src='/z.png", "src"), Some("/z.png"));
        assert_eq!(attribute("<img src=", "src"), Some(""));
        assert_eq!(attribute("<img", "src"), None);
        assert_eq!(attribute("<img alt='x", "src"), None);
        assert_eq!(attribute("<", "src"), None);
    }

    #[test]
    fn references_are_decoded_and_special_cases_left_to_the_parser() {
        let decoded = |v| decode_references(v).map(Cow::into_owned);
        assert_eq!(decoded("/a.jpg").as_deref(), Some("/a.jpg"));
        assert_eq!(
            decoded("/b.jpg?w=1&amp;h=2&#38;x=&#x26;").as_deref(),
            Some("/b.jpg?w=1&h=2&x=&")
        );
        assert_eq!(
            decoded("Salt & pepper &#8211; &quot;fresh&quot;&nbsp;").as_deref(),
            Some("Salt & pepper \u{2013} \"fresh\"\u{a0}")
        );
        assert_eq!(
            decoded("Caf&eacute; &ndash; &NotEqualTilde;").as_deref(),
            Some("Caf\u{e9} \u{2013} \u{2242}\u{338}")
        );
        // Legacy references without `;`, unknown names, and code points HTML remaps or
        // refuses are the parser's job.
        for hard in [
            "?a=1&copy=2",
            "&notaname;",
            "&#150;",
            "&#0;",
            "&#xD800;",
            "&#99999999;",
        ] {
            assert_eq!(decoded(hard), None, "{hard}");
        }
    }

    #[test]
    fn skips_comments_scripts_styles_and_textareas() {
        let html = r#"<!-- <img src="/c.png"> --><script>var s = "<img src='/s.png'>";</script>
            <STYLE>a{}</STYLE><textarea><img src="/t.png"></textarea><img src="/real.png">"#;
        assert_eq!(tags(html), vec![r#"<img src="/real.png">"#]);
    }

    #[test]
    fn unterminated_markup_ends_the_scan_without_panicking() {
        assert_eq!(tags("<img src='/a.png"), vec!["<img src='/a.png"]);
        assert!(tags("<!-- <img src=x>").is_empty());
        assert!(tags("<script><img src=x>").is_empty());
        assert!(tags("<").is_empty());
        assert_eq!(tags("<img"), vec!["<img"]);
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_scanned_without_panicking(html in "(<|>|img|IMG|src|=|'|\"|!--|-->|script|/| |a|é)*") {
            for tag in img_tags(&html) {
                proptest::prop_assert!(tag.starts_with('<'));
                let _ = attribute(tag, "src");
            }
        }
    }
}
