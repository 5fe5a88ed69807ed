//! The sandbox's authorize page behaves like Pinterest's: a consent page naming the app, the
//! user and the scopes; "Deny" goes back with `error=access_denied`; a bad scope or response
//! type goes back as an error; an unknown app or a bad redirect_uri gets a page, never a
//! redirect.

use std::collections::HashMap;

use pinbridge::pinterest::oauth::authorize_url;

use crate::support::pinterest::{Env, start, unlimited};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn url(env: &Env, client_id: &str, redirect: &str, scopes: &[&str]) -> url::Url {
    authorize_url(
        &env.base.join("/oauth/").unwrap(),
        client_id,
        redirect,
        scopes,
        "st4te",
    )
}

/// The query of a 303's `Location`, which must go to [`REDIRECT`].
fn back(resp: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(resp.status(), 303);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    location.query_pairs().into_owned().collect()
}

#[tokio::test]
async fn the_consent_page_names_user_and_scopes_and_deny_goes_back_with_access_denied() {
    let env = start(unlimited()).await;
    let client_id = env.sandbox.config().client_id.clone();
    let page = url(&env, &client_id, REDIRECT, &["boards:read", "pins:write"]);
    let html = client().get(page.clone()).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    for expected in ["alice", "boards:read", "pins:write", "id=allow", "id=deny"] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    let mut form: Vec<(String, String)> = page.query_pairs().into_owned().collect();
    form.push(("decision".into(), "deny".into()));
    let resp = client()
        .post(env.base.join("/oauth/").unwrap())
        .form(&form)
        .send()
        .await
        .unwrap();
    let q = back(&resp);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st4te");
    assert!(!q.contains_key("code"));
    assert_eq!(env.sandbox.stats().code_grants, 0);
}

#[tokio::test]
async fn bad_requests_are_refused_like_pinterest() {
    let env = start(unlimited()).await;
    let client_id = env.sandbox.config().client_id.clone();
    // Unknown app, or a redirect_uri that is no URL: an error page, no redirect.
    for page in [
        url(&env, "someone-else", REDIRECT, &["pins:read"]),
        url(&env, &client_id, "not a url", &["pins:read"]),
    ] {
        let resp = client().get(page).send().await.unwrap();
        assert_eq!(resp.status(), 400);
        assert!(resp.headers().get("location").is_none());
    }
    // A scope Pinterest does not have goes back to the app.
    let resp = client()
        .get(url(
            &env,
            &client_id,
            REDIRECT,
            &["pins:write", "everything"],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(back(&resp)["error"], "invalid_scope");
    // So does a response type other than `code`.
    let mut page = url(&env, &client_id, REDIRECT, &["pins:read"]);
    let pairs: Vec<(String, String)> = page
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "response_type" {
                (k, "token".into())
            } else {
                (k, v)
            }
        })
        .collect();
    page.query_pairs_mut().clear().extend_pairs(pairs);
    let resp = client().get(page).send().await.unwrap();
    assert_eq!(back(&resp)["error"], "unsupported_response_type");
}
