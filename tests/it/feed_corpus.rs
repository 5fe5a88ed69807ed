//! feedparser's own test corpus (2,242 feeds, well-formed and deliberately ill-formed) through
//! `parse_feed`: nothing panics or aborts, and no feed fails as a whole for a reason that should
//! only cost one field (feed-rs's "unsupported content type" / "missing content element").
//!
//! The corpus is feedparser's source distribution on PyPI, unpacked by
//! `tests/feedparser/setup.sh` into `<target>/feedparser` (or `$PINBRIDGE_FEEDPARSER_CORPUS`).
//! Without it the test prints why and passes, unless `CI` is set.

use std::path::{Path, PathBuf};

use pinbridge::item::SourceId;
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::parse_feed;
use url::Url;

const VERSION: &str = "6.0.12";

/// Errors feed-rs gives for one field it cannot read; pinbridge must skip that field instead.
const FIELD_LEVEL: [&str; 2] = ["unsupported content type", "missing content element"];

fn corpus_dir() -> PathBuf {
    let root = match std::env::var_os("PINBRIDGE_FEEDPARSER_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        // CARGO_TARGET_TMPDIR is <target>/tmp.
        None => Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .map(|t| t.join("feedparser"))
            .unwrap_or_else(|| PathBuf::from("target/feedparser")),
    };
    root.join(format!("feedparser-{VERSION}/tests"))
}

fn feeds(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            feeds(&path, out);
        } else if path.extension().is_some_and(|e| e == "xml") {
            out.push(path);
        }
    }
}

#[test]
fn feedparser_corpus_never_crashes_and_never_fails_a_whole_feed_for_one_field() {
    let dir = corpus_dir();
    let mut files = Vec::new();
    feeds(&dir, &mut files);
    if files.is_empty() {
        let message = format!(
            "feed corpus: nothing in {}; run `bash tests/feedparser/setup.sh`",
            dir.display()
        );
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false") {
            panic!("{message} (CI is set: the corpus test must run)");
        }
        eprintln!("{message}; skipped");
        return;
    }
    files.sort();
    let checked = files.len();
    // The stack tokio gives the threads that parse.
    let outcome = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let url = Url::parse("https://corpus.example/feed.xml").expect("url");
            let (mut parsed, mut whole_feed_for_a_field) = (0, Vec::new());
            // Why feeds were refused, by reason (ill-formed XML is most of it, on purpose).
            let mut reasons = std::collections::BTreeMap::<String, usize>::new();
            for path in &files {
                let body = std::fs::read(path).expect("read");
                let source = SourceId::new("corpus");
                let result = std::panic::catch_unwind(|| {
                    parse_feed(&source, &body, None, &url, MinSize::default())
                });
                match result {
                    Err(_) => panic!("parse_feed panicked on {}", path.display()),
                    Ok(Ok(_)) => parsed += 1,
                    Ok(Err(err)) => {
                        let text = err.to_string();
                        let reason: String = text.chars().take(70).collect();
                        *reasons.entry(reason).or_default() += 1;
                        if std::env::var_os("PINBRIDGE_CORPUS_LIST").is_some() {
                            eprintln!("REFUSED {}: {text}", path.display());
                        }
                        if FIELD_LEVEL.iter().any(|f| text.contains(f)) {
                            whole_feed_for_a_field.push(format!("{}: {text}", path.display()));
                        }
                    }
                }
            }
            (parsed, reasons, whole_feed_for_a_field)
        })
        .expect("thread")
        .join()
        .expect("no panic");
    let (parsed, reasons, whole) = outcome;
    let failed: usize = reasons.values().sum();
    eprintln!("feed corpus: {checked} feeds, {parsed} parsed, {failed} refused:");
    for (reason, n) in &reasons {
        eprintln!("  {n:5}  {reason}");
    }
    assert!(checked > 2000, "the whole corpus was read: {checked}");
    assert!(
        whole.is_empty(),
        "{} feeds failed as a whole for one field:\n{}",
        whole.len(),
        whole.join("\n")
    );
}
