//! The charset and repair rules, each on the smallest document that needs it.

use super::*;

fn norm(body: &[u8], ct: Option<&str>) -> String {
    String::from_utf8(normalize(body, ct).into_owned()).expect("normalize yields UTF-8")
}

#[test]
fn utf16_without_a_bom_is_sniffed_from_its_declaration() {
    let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss version=\"2.0\"><t>é</t></rss>";
    let le: Vec<u8> = doc.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let utf8 = doc.replace("utf-16", "UTF-8");
    assert_eq!(norm(&le, None), utf8);
    assert_eq!(norm(&be, None), utf8);
}

#[test]
fn utf8_without_changes_is_borrowed() {
    let doc = br#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"></rss>"#;
    assert!(matches!(normalize(doc, None), Cow::Borrowed(_)));
}

#[test]
fn declared_latin1_is_decoded_and_redeclared() {
    let doc =
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss version=\"2.0\"><t>caf\xe9</t></rss>";
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
fn declaration_with_spaces_and_single_quotes_is_read() {
    let doc = b"  <?xml version='1.0' encoding = 'windows-1251' ?><rss version=\"2.0\"><t>\xcf\xf0\xe8</t></rss>";
    assert_eq!(
        norm(doc, None),
        "  <?xml version='1.0' encoding = 'UTF-8' ?><rss version=\"2.0\"><t>При</t></rss>"
    );
    // Not a declaration: the label must be quoted, and `<?xml` must open the document.
    assert_eq!(declared_encoding(b"<?xml encoding=latin1?>"), None);
    assert_eq!(declared_encoding(b"<a/><?xml encoding='latin1'?>"), None);
}

#[test]
fn rss_version_is_found_past_the_prolog_and_only_as_an_attribute() {
    assert_eq!(
        norm(
            b"<?xml version=\"1.0\"?><!DOCTYPE rss><?xml-stylesheet href=\"s.xsl\"?>\n<rss  version = '1.0' data-version=\"2.0\">x</rss>",
            None
        ),
        "<?xml version=\"1.0\"?><!DOCTYPE rss><?xml-stylesheet href=\"s.xsl\"?>\n<rss  version=\"2.0\" data-version=\"2.0\">x</rss>"
    );
    assert_eq!(
        norm(b"<rss data-version=\"2.0\"/>", None),
        "<rss data-version=\"2.0\" version=\"2.0\"/>"
    );
    // Not an <rss> root: another element, a longer name, an unclosed comment.
    for doc in [
        "<feed><rss/></feed>",
        "<rss2>x</rss2>",
        "<!-- <rss>",
        "<rss",
    ] {
        assert_eq!(norm(doc.as_bytes(), None), doc);
    }
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
    let sound =
        br#"{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"7"}]}"#;
    assert!(matches!(normalize(sound, None), Cow::Borrowed(_)));
}
