//! Parse + normalize throughput beside raw feed-rs parsing of the same bytes, same run
//! (docs/BENCHMARKS.md, "Feed polling").
//!
//! Raw: `feed_rs::parser::parse(bytes)`. pinbridge: `parse::parse_feed` — charset
//! normalisation, feed-rs with pinbridge's id generator, the media side scan, dedup keys,
//! image choice and the `Item` fields. Corpora: the real-world fixtures in
//! tests/fixtures/feeds, synthetic 10- and 100-item RSS feeds with media:content, and a
//! WordPress-style feed whose images are only in each post's HTML. The two are timed back to
//! back in several rounds; the overhead is the median of the rounds' ratios, the times the
//! median rounds. The right-hand columns time parts of parse_feed alone (charset
//! normalisation, the nesting-depth scan every document gets before feed-rs, the side scan
//! for item images feed-rs drops) and what remains of the difference (building the `Item`s: links, image choice, dedup keys; and feed-rs's base URI
//! when the document needs one).
//!
//! cargo run --release --example feed_parse

use std::time::{Duration, Instant};

use pinbridge::item::SourceId;
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::parse_feed;
use pinbridge::sources::feed::{charset, depth, extras};
use url::Url;

const ROUNDS: usize = 15;
const ROUND_TIME: Duration = Duration::from_millis(100);

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

/// A WordPress-style feed: no media elements, each post's full HTML in `content:encoded`
/// (about 4 KB here) with its images inline, so the Pin image is the content's first `<img>`.
fn wordpress(items: usize) -> Vec<u8> {
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
	<title>Kitchen Garden</title>
	<atom:link href="https://garden.example/feed/" rel="self" type="application/rss+xml" />
	<link>https://garden.example</link>
	<description>Growing food in small spaces</description>
	<lastBuildDate>Tue, 05 Mar 2024 10:00:00 +0000</lastBuildDate>
	<language>en-US</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>
	<sy:updateFrequency>1</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.4.3</generator>
"#,
    );
    let paragraph = "<p>Seedlings want light more than warmth at this stage; a south window         gives them about six hours, which is enough for lettuce and not for tomatoes, so the         tomatoes go under the lamp and the lettuce stays on the sill where it is cooler.</p>\n";
    for i in (0..items).rev() {
        let mut html = format!(
            "<h2>Week {i}</h2>\n<p>Notes from the beds.</p>\n<figure class=\"wp-block-image size-large\">             <img decoding=\"async\" width=\"1024\" height=\"683\"              src=\"https://garden.example/wp-content/uploads/2024/03/bed-{i}-1024x683.jpg\"              alt=\"The bed in week {i}\" class=\"wp-image-{i}\"              srcset=\"https://garden.example/wp-content/uploads/2024/03/bed-{i}-1024x683.jpg 1024w,              https://garden.example/wp-content/uploads/2024/03/bed-{i}-300x200.jpg 300w\"              sizes=\"(max-width: 1024px) 100vw, 1024px\" /></figure>\n"
        );
        for _ in 0..10 {
            html.push_str(paragraph);
        }
        out.push_str(&format!(
            r#"	<item>
		<title>Week {i} in the beds</title>
		<link>https://garden.example/2024/03/week-{i}/</link>
		<comments>https://garden.example/2024/03/week-{i}/#respond</comments>
		<dc:creator><![CDATA[Robin]]></dc:creator>
		<pubDate>Tue, {:02} Mar 2024 10:00:00 +0000</pubDate>
		<category><![CDATA[Seedlings]]></category>
		<category><![CDATA[Tomatoes]]></category>
		<guid isPermaLink="false">https://garden.example/?p={i}</guid>
		<description><![CDATA[Notes from the beds. Seedlings want light more than warmth at this stage&#8230;]]></description>
		<content:encoded><![CDATA[{html}]]></content:encoded>
		<wfw:commentRss>https://garden.example/2024/03/week-{i}/feed/</wfw:commentRss>
		<slash:comments>0</slash:comments>
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
        "wordpress.xml",
        "xml_base.atom",
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
    corpora.push(("WordPress 10 posts".into(), wordpress(10), None));

    let source = SourceId::new("bench");
    let url = Url::parse("https://blog.example/feed")?;
    let min = MinSize {
        width: 0,
        height: 0,
    };
    println!(
        "{:<24} {:>8} {:>9} {:>10} {:>9} {:>10} | {:>8} {:>9} {:>9} {:>9}",
        "corpus",
        "bytes",
        "raw µs",
        "pinbr. µs",
        "overhead",
        "pinbr MB/s",
        "charset",
        "depth",
        "side-scan",
        "rest"
    );
    let (mut raw_fixtures, mut ours_fixtures) = (0.0, 0.0);
    let (mut raw_all, mut ours_all, mut bytes_all) = (0.0, 0.0, 0usize);
    for (name, bytes, ct) in &corpora {
        // Both must succeed on this input, or the comparison is meaningless.
        let raw_ok = feed_rs::parser::parse(&bytes[..]).is_ok();
        let ours_ok = parse_feed(&source, bytes, *ct, &url, min).is_ok();
        let (mut raw, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let r = || {
                let _ = std::hint::black_box(feed_rs::parser::parse(&bytes[..]));
            };
            let o = || {
                let _ = std::hint::black_box(parse_feed(&source, bytes, *ct, &url, min));
            };
            // Alternate which goes first so drift (other load, frequency) hits both.
            let (r, o) = if round % 2 == 0 {
                let r = per_call(r);
                (r, per_call(o))
            } else {
                let o = per_call(o);
                (per_call(r), o)
            };
            raw.push(r);
            ours.push(o);
            ratios.push(o / r);
        }
        // The overhead is the median of each round's pair (measured back to back), which
        // drift between rounds does not move; the times are the median rounds.
        let overhead = median(ratios) - 1.0;
        let (raw, ours) = (median(raw), median(ours));
        // Where the difference goes: the parts of parse_feed that raw parsing does not do.
        let charset = median(
            (0..3)
                .map(|_| per_call(|| drop(std::hint::black_box(charset::normalize(bytes, *ct)))))
                .collect(),
        );
        let is_json = ct.is_some();
        let depth_scan = median(
            (0..3)
                .map(|_| {
                    per_call(|| {
                        drop(std::hint::black_box(depth::check(
                            bytes,
                            is_json,
                            depth::MAX_NESTING,
                        )))
                    })
                })
                .collect(),
        );
        let scan = median(
            (0..3)
                .map(|_| {
                    per_call(|| drop(std::hint::black_box(extras::item_images(bytes, is_json))))
                })
                .collect(),
        );
        let note = match (raw_ok, ours_ok) {
            (true, true) => String::new(),
            (r, o) => format!("  (raw ok: {r}, pinbridge ok: {o})"),
        };
        if raw_ok && ours_ok && !name.contains(' ') {
            raw_fixtures += raw;
            ours_fixtures += ours;
        }
        if raw_ok && ours_ok {
            raw_all += raw;
            ours_all += ours;
            bytes_all += bytes.len();
        }
        println!(
            "{:<24} {:>8} {:>9.1} {:>10.1} {:>8.1}% {:>10.1} | {:>8.1} {:>9.1} {:>9.1} {:>9.1}{note}",
            name,
            bytes.len(),
            raw * 1e6,
            ours * 1e6,
            overhead * 100.0,
            bytes.len() as f64 / ours / 1e6,
            charset * 1e6,
            depth_scan * 1e6,
            scan * 1e6,
            (ours - raw - charset - depth_scan - scan) * 1e6
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
    // Throughput over everything above, each corpus parsed once: the MB/s a poller would see
    // on this mix of small and large feeds.
    println!(
        "{:<24} {:>8} {:>9.1} {:>10.1} {:>8.1}% {:>10.1}",
        "all corpora (sum)",
        bytes_all,
        raw_all * 1e6,
        ours_all * 1e6,
        (ours_all / raw_all - 1.0) * 100.0,
        bytes_all as f64 / ours_all / 1e6
    );
    Ok(())
}
