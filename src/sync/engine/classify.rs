//! Which kind of failure a Pinterest or transport error is, decided from the error and what the
//! attempt was doing alone (no I/O), so every class can be pinned down by unit tests. The
//! engine then carries the decision out (`failure.rs`).

use std::time::Duration;

use super::attention::{AccountSignals, account_problem};
use crate::pinterest::ApiError;
use crate::store::Millis;

/// How long a 429 that cites spam pauses the account, at least.
pub(super) const SPAM_PAUSE: Duration = Duration::from_secs(3600);

/// How long a 429 without `Retry-After` waits: the write quota is per minute.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// How long an account that needs `pinbridge auth` keeps its jobs waiting before they look again.
const AUTH_WAIT: Duration = Duration::from_secs(5 * 60);

/// How long a job of an account that needs attention waits before it looks at the account
/// again (held jobs ask the store, not Pinterest, whether the problem was cleared).
pub(super) const ATTENTION_WAIT: Duration = Duration::from_secs(5 * 60);

/// What the attempt was doing when the error came.
#[derive(Clone, Copy, Debug)]
pub(super) struct AttemptContext<'a> {
    pub account: &'a str,
    pub now: Millis,
    /// The error answered the Pin create itself, where an unclear outcome must be reconciled.
    pub create: bool,
    /// What the engine knows of the account (granted scopes, repeated 403s).
    pub signals: AccountSignals<'a>,
}

/// What to do about an error. `error` is always the error's readable message (Pinterest's own
/// words included), which the job records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Class {
    /// Over a rate limit (429): block the account until `until` and slow its pacing; the job
    /// waits without using an attempt. A spam block also pauses the account with `problem`.
    BlockAccount {
        until: Millis,
        problem: Option<String>,
        error: String,
    },
    /// The token is refused even after a refresh, or no token can be had: the account needs
    /// `pinbridge auth` (`problem`); the job waits until `until` without using an attempt.
    NeedsAuth {
        until: Millis,
        problem: String,
        error: String,
    },
    /// The account, not the item, is the problem (Trial app in production, missing scopes, the
    /// same 403 across jobs): mark the account with `problem` and hold its jobs; this one waits
    /// until `until` without using an attempt.
    NeedsAttention {
        until: Millis,
        problem: String,
        error: String,
    },
    /// The board or section is gone (404): looked-up names are stale; dead letter.
    BoardGone { error: String },
    /// Will not succeed by repeating: dead letter.
    Dead { error: String },
    /// The create may have been applied: the job becomes `unknown` and is reconciled first.
    Unknown { error: String },
    /// Worth trying again with backoff.
    Retry { error: String },
}

/// Sort an API error into a [`Class`].
pub(super) fn classify(error: &ApiError, context: AttemptContext<'_>) -> Class {
    let message = error.to_string();
    if let Some(problem) = account_problem(error, context.account, context.signals) {
        return Class::NeedsAttention {
            until: context.now + ATTENTION_WAIT.as_millis() as i64,
            problem,
            error: message,
        };
    }
    match error {
        ApiError::RateLimited {
            retry_after, spam, ..
        } => {
            // A spam block is not a quota: pause the account for at least an hour.
            let mut wait = retry_after.unwrap_or(RATE_LIMIT_WAIT);
            if *spam {
                wait = wait.max(SPAM_PAUSE);
            }
            let until = context.now + wait.as_millis() as i64;
            let problem = spam.then(|| {
                format!(
                    "paused until {}: Pinterest flagged the account's Pins as spam: {message}",
                    httpdate::fmt_http_date(
                        std::time::UNIX_EPOCH + Duration::from_millis(until.max(0) as u64)
                    )
                )
            });
            Class::BlockAccount {
                until,
                problem,
                error: message,
            }
        }
        ApiError::Unauthorized { .. } | ApiError::Auth(_) => Class::NeedsAuth {
            until: context.now + AUTH_WAIT.as_millis() as i64,
            problem: format!(
                "needs `pinbridge auth --account {}`: {message}",
                context.account
            ),
            error: message,
        },
        ApiError::NotFound { .. } => Class::BoardGone { error: message },
        ApiError::Forbidden { .. } | ApiError::Rejected { .. } => Class::Dead { error: message },
        _ if context.create && error.maybe_applied() => Class::Unknown { error: message },
        _ if error.is_transient() => Class::Retry { error: message },
        _ => Class::Dead { error: message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pinterest::oauth::AuthError;

    const NOW: Millis = 1_700_000_000_000;

    fn during_create() -> AttemptContext<'static> {
        AttemptContext {
            account: "shop",
            now: NOW,
            create: true,
            signals: AccountSignals::default(),
        }
    }

    fn during_lookup() -> AttemptContext<'static> {
        AttemptContext {
            create: false,
            ..during_create()
        }
    }

    fn rate_limited(retry_after: Option<Duration>, spam: bool) -> ApiError {
        ApiError::RateLimited {
            retry_after,
            spam,
            message: "Too many requests".into(),
            request_id: None,
        }
    }

    fn server_error() -> ApiError {
        ApiError::Server {
            status: 503,
            message: "Service Unavailable".into(),
            request_id: None,
        }
    }

    fn transport(maybe_sent: bool) -> ApiError {
        ApiError::Transport {
            message: "operation timed out".into(),
            maybe_sent,
        }
    }

    #[test]
    fn a_429_with_retry_after_blocks_the_account_that_long() {
        let error = rate_limited(Some(Duration::from_secs(90)), false);
        assert_eq!(
            classify(&error, during_create()),
            Class::BlockAccount {
                until: NOW + 90_000,
                problem: None,
                error: error.to_string(),
            }
        );
    }

    #[test]
    fn a_429_without_retry_after_blocks_the_account_a_minute() {
        let error = rate_limited(None, false);
        assert!(matches!(
            classify(&error, during_lookup()),
            Class::BlockAccount { until, problem: None, .. } if until == NOW + 60_000
        ));
    }

    #[test]
    fn a_spam_429_pauses_the_account_at_least_an_hour_and_says_why() {
        let error = rate_limited(Some(Duration::from_secs(30)), true);
        let Class::BlockAccount {
            until,
            problem: Some(problem),
            error: message,
        } = classify(&error, during_create())
        else {
            panic!("a spam 429 must block the account with a problem");
        };
        assert_eq!(until, NOW + SPAM_PAUSE.as_millis() as i64);
        assert!(problem.starts_with("paused until "), "{problem}");
        assert!(
            problem.contains("Pinterest flagged the account's Pins as spam: "),
            "{problem}"
        );
        assert!(problem.ends_with(&message), "{problem}");
    }

    #[test]
    fn a_spam_429_keeps_a_longer_retry_after() {
        let error = rate_limited(Some(Duration::from_secs(7200)), true);
        assert!(matches!(
            classify(&error, during_create()),
            Class::BlockAccount { until, .. } if until == NOW + 7_200_000
        ));
    }

    #[test]
    fn a_5xx_on_the_create_is_unknown_and_elsewhere_a_retry() {
        let error = server_error();
        assert_eq!(
            classify(&error, during_create()),
            Class::Unknown {
                error: error.to_string()
            }
        );
        assert_eq!(
            classify(&error, during_lookup()),
            Class::Retry {
                error: error.to_string()
            }
        );
    }

    #[test]
    fn a_timeout_or_dropped_connection_after_sending_the_create_is_unknown() {
        let error = transport(true);
        assert!(matches!(
            classify(&error, during_create()),
            Class::Unknown { .. }
        ));
        assert!(matches!(
            classify(&error, during_lookup()),
            Class::Retry { .. }
        ));
    }

    #[test]
    fn a_connection_never_made_is_a_retry_even_for_the_create() {
        assert!(matches!(
            classify(&transport(false), during_create()),
            Class::Retry { .. }
        ));
    }

    #[test]
    fn an_unreadable_2xx_on_the_create_is_unknown_and_elsewhere_dead() {
        let error = ApiError::Decode {
            message: "missing field `id`".into(),
            request_id: None,
        };
        assert!(matches!(
            classify(&error, during_create()),
            Class::Unknown { .. }
        ));
        assert!(matches!(
            classify(&error, during_lookup()),
            Class::Dead { .. }
        ));
    }

    #[test]
    fn a_4xx_is_dead_with_pinterests_message() {
        let error = ApiError::Rejected {
            status: 400,
            code: Some(1),
            message: "Invalid parameters: title is too long".into(),
            request_id: Some("rid-1".into()),
        };
        let Class::Dead { error: message } = classify(&error, during_create()) else {
            panic!("a 400 must be dead");
        };
        assert!(
            message.contains("Invalid parameters: title is too long"),
            "{message}"
        );
        assert!(message.contains("rid-1"), "{message}");
    }

    #[test]
    fn a_403_is_dead() {
        let error = ApiError::Forbidden {
            code: None,
            message: "missing scope pins:write".into(),
            request_id: None,
        };
        assert!(matches!(
            classify(&error, during_create()),
            Class::Dead { error } if error.contains("missing scope pins:write")
        ));
    }

    #[test]
    fn a_trial_apps_403_needs_attention_and_waits_without_dead_lettering() {
        let error = ApiError::Forbidden {
            code: Some(29),
            message: "Apps with Trial access may not create Pins in production".into(),
            request_id: None,
        };
        assert!(matches!(
            classify(&error, during_create()),
            Class::NeedsAttention { until, ref problem, .. }
                if until == NOW + 5 * 60_000 && problem.contains("Standard access")
        ));
    }

    #[test]
    fn a_404_means_the_board_is_gone() {
        let error = ApiError::NotFound {
            code: Some(40),
            message: "Board not found.".into(),
            request_id: None,
        };
        assert!(matches!(
            classify(&error, during_lookup()),
            Class::BoardGone { error } if error.contains("Board not found.")
        ));
    }

    #[test]
    fn a_401_after_the_token_refresh_needs_auth_and_waits_five_minutes() {
        let error = ApiError::Unauthorized {
            message: "Authentication failed.".into(),
            request_id: None,
        };
        let Class::NeedsAuth {
            until,
            problem,
            error: message,
        } = classify(&error, during_create())
        else {
            panic!("a 401 must need auth");
        };
        assert_eq!(until, NOW + 5 * 60_000);
        assert_eq!(
            problem,
            format!("needs `pinbridge auth --account shop`: {message}")
        );
    }

    #[test]
    fn a_token_that_cannot_be_refreshed_needs_auth() {
        let error = ApiError::Auth(AuthError::Expired {
            reason: "no refresh token",
        });
        assert!(matches!(
            classify(&error, during_lookup()),
            Class::NeedsAuth { until, ref problem, .. }
                if until == NOW + 5 * 60_000 && problem.starts_with("needs `pinbridge auth --account shop`: ")
        ));
    }

    #[test]
    fn an_unreachable_token_endpoint_also_needs_auth_today() {
        // Transient by `ApiError::is_transient`, but the account-level wait comes first.
        let error = ApiError::Auth(AuthError::Transport {
            message: "connection refused".into(),
        });
        assert!(matches!(
            classify(&error, during_create()),
            Class::NeedsAuth { .. }
        ));
    }
}
