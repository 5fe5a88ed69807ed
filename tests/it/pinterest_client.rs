//! The API client against the sandbox on a real loopback socket: every call the sync engine
//! makes, and how each kind of failure reaches it.

use std::time::Duration;

use pinbridge::pinterest::ApiError;
use pinbridge::pinterest::sandbox::{FailMode, Faults, SandboxConfig};

use crate::support::pinterest::{pin, start, unlimited};

#[tokio::test]
async fn user_account_names_the_token_owner() {
    let env = start(unlimited()).await;
    let account = env.client().user_account().await.unwrap();
    assert_eq!(account.username.as_deref(), Some("alice"));
    assert_eq!(account.id.as_deref(), Some(env.user.id.as_str()));
}

#[tokio::test]
async fn boards_are_created_and_listed_across_pages() {
    let env = start(unlimited()).await;
    let client = env.client().with_page_size(7);
    for i in 0..30 {
        let b = client
            .create_board(&format!("Board {i:02}"), Some("desc"))
            .await
            .unwrap();
        assert_eq!(b.name, format!("Board {i:02}"));
        assert!(b.id.bytes().all(|c| c.is_ascii_digit()), "id {}", b.id);
    }
    let before = env.sandbox.stats().requests;
    let boards = client.list_boards().await.unwrap();
    let names: Vec<String> = boards.iter().map(|b| b.name.clone()).collect();
    let expected: Vec<String> = (0..30).map(|i| format!("Board {i:02}")).collect();
    assert_eq!(names, expected);
    // 30 boards in pages of 7: five requests.
    assert_eq!(env.sandbox.stats().requests - before, 5);
    assert_eq!(boards[0].description.as_deref(), Some("desc"));
}

#[tokio::test]
async fn other_users_boards_are_invisible() {
    let env = start(unlimited()).await;
    let bob = env.sandbox.create_user("bob");
    let bobs = env.sandbox.create_board(&bob, "Bob's");
    env.sandbox.create_board(&env.user, "Alice's");
    let boards = env.client().list_boards().await.unwrap();
    assert_eq!(boards.len(), 1);
    assert_eq!(boards[0].name, "Alice's");
    let err = env.client().create_pin(&pin(&bobs, "x")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::NotFound { code: Some(40), .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn sections_are_created_listed_and_used_by_pins() {
    let env = start(unlimited()).await;
    let client = env.client().with_page_size(1);
    let board = client.create_board("Recipes", None).await.unwrap();
    let salads = client.create_section(&board.id, "Salads").await.unwrap();
    let soups = client.create_section(&board.id, "Soups").await.unwrap();
    let listed = client.list_sections(&board.id).await.unwrap();
    assert_eq!(listed, vec![salads.clone(), soups]);

    let mut p = pin(&board.id, "Greek salad");
    p.board_section_id = Some(salads.id.clone());
    let made = client.create_pin(&p).await.unwrap();
    assert_eq!(made.board_section_id.as_deref(), Some(salads.id.as_str()));
    let held = env.sandbox.pins();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].board_name, "Recipes");
    assert_eq!(held[0].section_name.as_deref(), Some("Salads"));
    assert_eq!(held[0].owner, "alice");

    let err = client
        .create_section("999999", "Nowhere")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApiError::NotFound { code: Some(40), .. }),
        "{err:?}"
    );
    let mut p = pin(&board.id, "Lost");
    p.board_section_id = Some("123456".into());
    let err = client.create_pin(&p).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::NotFound {
                code: Some(2031),
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn pins_are_created_read_back_and_listed_newest_first() {
    let env = start(unlimited()).await;
    let client = env.client().with_page_size(2);
    let board = client.create_board("Shop", None).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        env.clock.advance_ms(1000);
        let made = client
            .create_pin(&pin(&board.id, &format!("Item {i}")))
            .await
            .unwrap();
        assert_eq!(made.title.as_deref(), Some(format!("Item {i}").as_str()));
        assert_eq!(made.board_id.as_deref(), Some(board.id.as_str()));
        ids.push(made.id);
    }
    let got = client.get_pin(&ids[2]).await.unwrap();
    assert_eq!(got.title.as_deref(), Some("Item 2"));
    assert_eq!(got.link.as_deref(), Some("https://shop.example/Item-2"));
    assert!(got.created_at.is_some());

    let newest: Vec<String> = client
        .board_pins(&board.id, 3)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(newest, vec![ids[4].clone(), ids[3].clone(), ids[2].clone()]);
    let all = client.board_pins(&board.id, 100).await.unwrap();
    assert_eq!(all.len(), 5);

    let err = client.get_pin("12345").await.unwrap_err();
    assert!(matches!(err, ApiError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn an_invalid_pin_is_rejected_with_the_apis_message_and_request_id() {
    let env = start(unlimited()).await;
    let client = env.client();
    let board = client.create_board("B", None).await.unwrap();
    let mut p = pin(&board.id, &"x".repeat(101));
    p.description = None;
    let err = client.create_pin(&p).await.unwrap_err();
    match &err {
        ApiError::Rejected {
            status: 400,
            message,
            request_id: Some(rid),
            ..
        } => {
            assert!(message.contains("title is 101 characters"), "{message}");
            assert!(!rid.is_empty());
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(!err.is_transient() && !err.maybe_applied());
    assert!(env.sandbox.pins().is_empty());
}

#[tokio::test]
async fn the_write_quota_gives_rate_limited_with_retry_after() {
    let env = start(SandboxConfig {
        write_quota_per_minute: Some(2),
        ..SandboxConfig::default()
    })
    .await;
    let client = env.client();
    client.create_board("a", None).await.unwrap();
    env.clock.advance_ms(20_000);
    client.create_board("b", None).await.unwrap();
    // Reads do not count.
    client.list_boards().await.unwrap();
    let err = client.create_board("c", None).await.unwrap_err();
    match &err {
        ApiError::RateLimited {
            retry_after,
            spam,
            request_id,
            ..
        } => {
            // The first write leaves the window 40 s from now.
            assert_eq!(*retry_after, Some(Duration::from_secs(40)));
            assert!(!spam);
            assert!(request_id.is_some());
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_transient());
    env.clock.advance_ms(40_000);
    client.create_board("c", None).await.unwrap();
    assert_eq!(env.sandbox.stats().rate_limited, 1);
}

#[tokio::test]
async fn a_spam_block_is_flagged() {
    let env = start(unlimited()).await;
    env.sandbox.set_faults(Faults {
        burst_429: 1,
        burst_429_spam: true,
        burst_retry_after: None,
        ..Faults::default()
    });
    let err = env.client().user_account().await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::RateLimited {
                spam: true,
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
    // The burst is over.
    env.client().user_account().await.unwrap();
}

#[tokio::test]
async fn server_errors_are_transient() {
    let env = start(unlimited()).await;
    env.sandbox.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let err = env.client().list_boards().await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Server {
                status: 500 | 503,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(env.sandbox.stats().injected_5xx, 1);
}

#[tokio::test]
async fn create_then_fail_reports_maybe_applied_and_the_pin_exists() {
    let env = start(unlimited()).await;
    let client = env.client();
    let board = client.create_board("B", None).await.unwrap();
    for (mode, title) in [(FailMode::Status500, "first"), (FailMode::Drop, "second")] {
        env.sandbox.set_faults(Faults {
            create_then_fail_rate: 1.0,
            create_then_fail: mode,
            ..Faults::default()
        });
        let err = client.create_pin(&pin(&board.id, title)).await.unwrap_err();
        match mode {
            FailMode::Status500 => {
                assert!(
                    matches!(err, ApiError::Server { status: 500, .. }),
                    "{err:?}"
                )
            }
            _ => assert!(
                matches!(
                    err,
                    ApiError::Transport {
                        maybe_sent: true,
                        ..
                    }
                ),
                "{err:?}"
            ),
        }
        assert!(err.maybe_applied() && err.is_transient());
    }
    env.sandbox.set_faults(Faults::default());
    // Both Pins were made: reconciliation finds them on the board.
    let titles: Vec<String> = client
        .board_pins(&board.id, 10)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|p| p.title)
        .collect();
    assert_eq!(titles, vec!["second", "first"]);
    assert_eq!(env.sandbox.stats().create_then_fail, 2);
}

#[tokio::test]
async fn a_refused_connection_was_never_sent() {
    let env = start(unlimited()).await;
    // A port that was just free: nothing listens there.
    let spare = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = spare.local_addr().unwrap();
    drop(spare);
    let base = pinbridge::pinterest::sandbox::Sandbox::api_base(addr);
    let client = pinbridge::pinterest::PinterestClient::new(
        &base,
        env.http.clone(),
        std::sync::Arc::new(env.manager(crate::support::pinterest::user_tokens(&env.user))),
    );
    let err = client.user_account().await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                maybe_sent: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_transient() && !err.maybe_applied());
    let text = err.to_string();
    assert!(
        text.contains("nothing was sent") && text.contains("refused"),
        "{text}"
    );
}

#[tokio::test]
async fn a_timeout_after_sending_may_have_been_applied() {
    let env = start(unlimited()).await;
    let board = env.sandbox.create_board(&env.user, "B");
    env.sandbox.set_faults(Faults {
        latency: Duration::from_secs(5),
        ..Faults::default()
    });
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let client = pinbridge::pinterest::PinterestClient::new(
        &env.base,
        http,
        std::sync::Arc::new(env.manager(crate::support::pinterest::user_tokens(&env.user))),
    );
    let err = client.create_pin(&pin(&board, "slow")).await.unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::Transport {
                maybe_sent: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.maybe_applied() && err.is_transient());
}
