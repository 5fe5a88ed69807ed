//! Parse + normalize throughput beside raw feed-rs parsing of the same bytes, same run
//! (docs/BENCHMARKS.md, "Feed polling").
//!
//! Raw: `feed_rs::parser::parse(bytes)`. pinbridge: `parse::parse_feed` — charset
//! normalisation, feed-rs with pinbridge's id generator, the media side scan, dedup keys,
//! image choice and the `Item` fields. Corpora: the real-world fixtures in
//! tests/fixtures/feeds and synthetic 10- and 100-item RSS feeds. The two are timed alternately in
//! several rounds; the median round is reported. The right-hand columns time parts of
//! parse_feed alone (charset normalisation, the media side scan, feed-rs built with
//! pinbridge's base URI and id generator) to show where the difference goes.
//!
//! cargo run --release --example feed_parse

use std::time::{Duration, Instant};

use pinbridge::item::SourceId;
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::parse_feed;
use pinbridge::sources::feed::{charset, extras};
use url::Url;

const ROUNDS: usize = 9;
const ROUND_TIME: Duration = Duration::from_millis(150);

fn synthetic(items: usize) -> Vec<u8> {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Blog</title><link>https://blog.example/</link><description>Notes</description>
"#,
    );
    for i in (0..items).rev() {
        out.push_str(&format!(
            r#"<item><title>Post {i}: a title of ordinary length</title>
<link>https://blog.example/posts/{i}</link><guid isPermaLink="false">urn:blog:{i}</guid>
<pubDate>{:02} Mar 2024 10:00:00 GMT</pubDate><dc:creator>Author</dc:creator>
<category>garden</category><category>notes</category>
<description>&lt;p&gt;Paragraph one of post {i}, with &lt;a href="https://blog.example/x"&gt;a link&lt;/a&gt; and some words to make it a realistic length for a summary.&lt;/p&gt;&lt;img src="/img/{i}-inline.jpg"&gt;</description>
<media:content url="https://cdn.blog.example/{i}.jpg" type="image/jpeg" width="1200" height="800"/>
</item>
"#,
            1 + i % 28
        ));
    }
    out.push_str("</channel></rss>\n");
    out.into_bytes()
}

/// Seconds per call of `f`, measured over about ROUND_TIME.
fn per_call(mut f: impl FnMut()) -> f64 {
    let mut n = 0u64;
    let start = Instant::now();
    while start.elapsed() < ROUND_TIME {
        f();
        n += 1;
    }
    start.elapsed().as_secs_f64() / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/feeds");
    let mut corpora: Vec<(String, Vec<u8>, Option<&str>)> = Vec::new();
    for name in [
        "rss2.xml",
        "atom.xml",
        "rss1.rdf",
        "jsonfeed.json",
        "latin1.xml",
        "cp1251_no_version.xml",
        "no_ids.xml",
        "thumbnail_only.xml",
    ] {
        let ct = name.ends_with(".json").then_some("application/feed+json");
        corpora.push((
            name.to_string(),
            std::fs::read(format!("{dir}/{name}"))?,
            ct,
        ));
    }
    // 10 items is the size of the feeds in the 10,000-feed cycle (`feed_cycle`), and of most
    // blogs' feeds; 100 items a large one.
    corpora.push(("synthetic 10 items".into(), synthetic(10), None));
    corpora.push(("synthetic 100 items".into(), synthetic(100), None));

    let source = SourceId::new("bench");
    let url = Url::parse("https://blog.example/feed")?;
    let min = MinSize {
        width: 0,
        height: 0,
    };
    println!(
        "{:<24} {:>8} {:>9} {:>10} {:>9} {:>10} | {:>8} {:>9} {:>9}",
        "corpus",
        "bytes",
        "raw µs",
        "pinbr. µs",
        "overhead",
        "pinbr MB/s",
        "charset",
        "side-scan",
        "fr+idgen"
    );
    let (mut raw_fixtures, mut ours_fixtures) = (0.0, 0.0);
    for (name, bytes, ct) in &corpora {
        // Both must succeed on this input, or the comparison is meaningless.
        let raw_ok = feed_rs::parser::parse(&bytes[..]).is_ok();
        let ours_ok = parse_feed(&source, bytes, *ct, &url, min).is_ok();
        let (mut raw, mut ours) = (Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let r = || {
                let _ = std::hint::black_box(feed_rs::parser::parse(&bytes[..]));
            };
            let o = || {
                let _ = std::hint::black_box(parse_feed(&source, bytes, *ct, &url, min));
            };
            // Alternate which goes first so drift (other load, frequency) hits both.
            if round % 2 == 0 {
                raw.push(per_call(r));
                ours.push(per_call(o));
            } else {
                ours.push(per_call(o));
                raw.push(per_call(r));
            }
        }
        let (raw, ours) = (median(raw), median(ours));
        // Where the difference goes: the parts of parse_feed that raw parsing does not do.
        let charset = median(
            (0..3)
                .map(|_| per_call(|| drop(std::hint::black_box(charset::normalize(bytes, *ct)))))
                .collect(),
        );
        let is_json = ct.is_some();
        let scan = median(
            (0..3)
                .map(|_| {
                    per_call(|| drop(std::hint::black_box(extras::item_images(bytes, is_json))))
                })
                .collect(),
        );
        let builder = || {
            feed_rs::parser::Builder::new()
                .base_uri(Some(url.as_str()))
                .id_generator(|_, _, _| "\u{0}none".to_string())
                .build()
        };
        let fr_idgen = median(
            (0..3)
                .map(|_| per_call(|| drop(std::hint::black_box(builder().parse(&bytes[..])))))
                .collect(),
        );
        let note = match (raw_ok, ours_ok) {
            (true, true) => String::new(),
            (r, o) => format!("  (raw ok: {r}, pinbridge ok: {o})"),
        };
        if raw_ok && ours_ok && !name.starts_with("synthetic") {
            raw_fixtures += raw;
            ours_fixtures += ours;
        }
        println!(
            "{:<24} {:>8} {:>9.1} {:>10.1} {:>8.1}% {:>10.1} | {:>8.1} {:>9.1} {:>9.1}{note}",
            name,
            bytes.len(),
            raw * 1e6,
            ours * 1e6,
            (ours / raw - 1.0) * 100.0,
            bytes.len() as f64 / ours / 1e6,
            charset * 1e6,
            scan * 1e6,
            fr_idgen * 1e6
        );
    }
    println!(
        "{:<24} {:>8} {:>9.1} {:>10.1} {:>8.1}%",
        "fixtures (sum)",
        "",
        raw_fixtures * 1e6,
        ours_fixtures * 1e6,
        (ours_fixtures / raw_fixtures - 1.0) * 100.0
    );
    Ok(())
}
