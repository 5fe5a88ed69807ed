//! The quota benchmark's bare client (what the quota itself lets through) and the board
//! every scenario makes before its window.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Prepared;

/// Make a board before the measured window (a board create is a write too; one per account
/// in real use, so it is left out of the window).
pub async fn create_board(http: &reqwest::Client, api: &str, auth: &str, name: &str) -> String {
    let board: serde_json::Value = http
        .post(format!("{api}boards"))
        .header("authorization", auth)
        .json(&serde_json::json!({"name": name}))
        .send()
        .await
        .expect("create board")
        .json()
        .await
        .expect("board json");
    board["id"].as_str().unwrap_or_default().to_string()
}

/// The bare client: creates as fast as the sandbox answers (two at a time) for `window`.
pub async fn baseline(user: &Prepared, api: &str, window: Duration) -> (u64, u64) {
    let http = reqwest::Client::new();
    let auth = format!("Bearer {}", user.token);
    let board_id = user.board_id.clone();
    let end = Instant::now() + window;
    let ok = Arc::new(Mutex::new((0u64, 0u64)));
    let mut tasks = Vec::new();
    for w in 0..2 {
        let (http, auth, board_id, api, ok) = (
            http.clone(),
            auth.clone(),
            board_id.clone(),
            api.to_string(),
            ok.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while Instant::now() < end {
                i += 1;
                let answer = http
                    .post(format!("{api}pins"))
                    .header("authorization", &auth)
                    .json(&serde_json::json!({
                        "board_id": board_id,
                        "title": format!("b{w}-{i}"),
                        "link": format!("https://bench.example/b/{w}/{i}"),
                        "media_source": {"source_type": "image_url", "url": "https://bench.example/i.jpg"}
                    }))
                    .send()
                    .await;
                let status = answer.map(|r| r.status().as_u16()).unwrap_or(0);
                {
                    let mut counts = ok.lock().unwrap();
                    match status {
                        200 | 201 => counts.0 += 1,
                        429 => counts.1 += 1,
                        _ => {}
                    }
                }
                if status == 429 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    ok.lock().map(|c| *c).unwrap_or_default()
}
