//! The status page: rendered HTML, login form, retry button (plain HTTP; no browser here).
//! Before sign-in the page is only the form; a session cookie (never the token) signs in; every
//! POST from that session must carry this server's Origin.

use crate::support::ops::{ADMIN, start};

#[tokio::test]
async fn the_status_page_lists_failures_and_retries_one_after_sign_in() {
    let server = start(&["main"], true).await;
    let dead = server.job_ending("a", Some("board <gone>"), None).await;
    server.job_ending("b", None, Some("pin-9")).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=login") && !html.contains("class=retry"));
    for private in ["gone", "pin-9", "example.com", "blog", "Board", &dead] {
        assert!(
            !html.contains(private),
            "`{private}` before sign-in: {html}"
        );
    }
    let origin = server.base.clone();

    // Retrying without signing in is refused.
    let refused = client
        .post(format!("{}/ui/retry/{dead}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let wrong = client
        .post(format!("{}/ui/login", server.base))
        .form(&[("token", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let login = client
        .post(format!("{}/ui/login", server.base))
        .header("origin", &origin)
        .form(&[("token", ADMIN)])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    assert!(
        !cookie.contains(ADMIN),
        "the cookie is a session id: {cookie}"
    );
    assert!(!cookie.contains("Secure"), "public_url is not https here");
    let cookie = cookie.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("pinbridge_session=") && cookie.len() > 60);
    let html = client
        .get(format!("{}/", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("board &lt;gone&gt;"), "escaped error: {html}");
    assert!(html.contains("https://example.com/b.jpg") && html.contains("pin-9"));
    assert!(html.contains(&format!("action=\"/ui/retry/{dead}\"")));
    // A session's POST without this server's Origin (another site's form) is refused.
    for other in [None, Some("https://evil.example")] {
        let mut request = client
            .post(format!("{}/ui/retry/{dead}", server.base))
            .header("cookie", &cookie);
        if let Some(other) = other {
            request = request.header("origin", other);
        }
        assert_eq!(request.send().await.unwrap().status(), 403, "{other:?}");
    }
    let retried = client
        .post(format!("{}/ui/retry/{dead}", server.base))
        .header("cookie", &cookie)
        .header("origin", &origin)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 303);
    let job: serde_json::Value = server
        .get(&format!("/api/v1/jobs/{dead}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(job["state"]["state"], "pending");
}

#[tokio::test]
async fn the_status_page_shows_the_newest_pins_first() {
    use crate::support::ops::{T0, item, plan};
    let server = start(&["main"], true).await;
    let batch = (0..25)
        .map(|i| (item("blog", &format!("k{i:02}")), plan("Board")))
        .collect();
    server.store.ingest_many(batch, T0).await.unwrap();
    let leases = server.store.claim(25, 60_000, T0).await.unwrap();
    assert_eq!(leases.len(), 25);
    for (i, lease) in leases.iter().enumerate() {
        let pin = format!("pin-{i:02}");
        server
            .store
            .complete(lease, &pin, T0 + i as i64)
            .await
            .unwrap();
    }
    let html = server.get("/").await.text().await.unwrap();
    let at = |pin: &str| html.find(&format!("pin {pin} ")).unwrap_or(usize::MAX);
    // The 20 newest, newest first; the five oldest are not shown.
    for i in 5..24 {
        let (newer, older) = (format!("pin-{:02}", i + 1), format!("pin-{i:02}"));
        assert!(at(&newer) < at(&older), "{newer} before {older}: {html}");
    }
    assert!(at("pin-05") < usize::MAX, "{html}");
    for i in 0..5 {
        assert!(
            !html.contains(&format!("pin-{i:02} ")),
            "pin-{i:02} shown: {html}"
        );
    }
}

#[tokio::test]
async fn a_job_waiting_to_reconcile_says_why_on_the_status_page() {
    let server = start(&["main"], true).await;
    let id = server.job_ending("u", None, None).await;
    let job = server
        .store
        .job(&pinbridge::store::JobId(id.clone()))
        .await
        .unwrap()
        .unwrap();
    // Reclaim the expired lease (a crash mid-create) and record an undecided reconcile.
    let lease = server
        .store
        .claim(1, 60_000, crate::support::ops::T0 + 120_000)
        .await
        .unwrap()
        .pop()
        .expect("the job is reclaimed");
    assert!(lease.reconcile && lease.job.id == job.id);
    let reason = "could not tell whether the Pin was made: reconcile_pages (1) ran out";
    server
        .store
        .retry(
            &lease,
            crate::support::ops::T0 + 180_000,
            reason,
            pinbridge::store::Attempt::Free,
            crate::support::ops::T0 + 120_001,
        )
        .await
        .unwrap();
    let html = server.get("/").await.text().await.unwrap();
    assert!(html.contains("Waiting to reconcile"), "{html}");
    assert!(html.contains(&id) && html.contains(reason), "{html}");
    assert!(html.contains("not created again"), "{html}");
}
