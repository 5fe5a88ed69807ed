//! The feed server child process: 10,000 feeds on several loopback addresses, switching
//! generation on request so most feeds answer 304 in the measured cycle.

use super::*;

pub(crate) fn serve(hosts: usize) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let generation = Arc::new(AtomicU32::new(0));
            let app = Router::new()
                .route("/feed/{n}", get(feed))
                .route(
                    "/advance",
                    post(|State(g): State<Arc<AtomicU32>>| async move {
                        g.fetch_add(1, Ordering::SeqCst);
                        "ok"
                    }),
                )
                .with_state(generation);
            let mut ports = Vec::new();
            for h in 1..=hosts {
                let ip = format!("127.0.0.{h}");
                let listener = tokio::net::TcpListener::bind((ip.as_str(), 0)).await?;
                ports.push(listener.local_addr()?.port().to_string());
                let app = app.clone();
                tokio::spawn(async move { axum::serve(listener, app).await.ok() });
            }
            println!("{}", ports.join(" "));
            std::io::stdout().flush()?;
            // Run until the parent closes our stdin.
            let _ = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
            })
            .await;
            Ok(())
        })
}

pub(crate) async fn feed(
    State(generation): State<Arc<AtomicU32>>,
    Path(n): Path<usize>,
    headers: HeaderMap,
) -> Response {
    let g = generation.load(Ordering::SeqCst) as usize;
    // A feed changes only in generation ≥ 1 and only if it is one of the 1 in NEW_EVERY.
    let version = if g >= 1 && n % NEW_EVERY == 0 { g } else { 0 };
    let etag = format!("\"f{n}-v{version}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::ETAG, etag),
            (header::CONTENT_TYPE, "application/rss+xml".to_string()),
        ],
        rss(n, 10 + version),
    )
        .into_response()
}

/// A typical blog feed: `items` entries, newest first, each with a guid, date, categories, an
/// HTML description and an image (about 700 bytes per item).
pub fn rss(feed: usize, items: usize) -> String {
    let mut out = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Blog {feed}</title><link>https://blog{feed}.example/</link><description>Notes from blog {feed}</description>
"#
    );
    for i in (0..items).rev() {
        let day = 1 + i % 28;
        let month = 1 + (i / 28) % 12;
        out.push_str(&format!(
            r#"<item><title>Post {i} of blog {feed}: a title of ordinary length</title>
<link>https://blog{feed}.example/posts/{i}</link><guid isPermaLink="false">urn:blog{feed}:{i}</guid>
<pubDate>{day:02} {mon} 2024 10:00:00 GMT</pubDate><dc:creator>Author {feed}</dc:creator>
<category>garden</category><category>notes</category>
<description>&lt;p&gt;Paragraph one of post {i}, with &lt;a href="https://blog{feed}.example/x"&gt;a link&lt;/a&gt; and some words to make it a realistic length for a summary.&lt;/p&gt;&lt;img src="/img/{i}-inline.jpg"&gt;</description>
<media:content url="https://cdn.blog{feed}.example/{i}.jpg" type="image/jpeg" width="1200" height="800"/>
</item>
"#,
            mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                [month - 1],
        ));
    }
    out.push_str("</channel></rss>\n");
    out
}
