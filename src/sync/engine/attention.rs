//! Failures that are the account's, not the item's: an app with Trial access creating Pins in
//! production (403 code 29), a token without the scopes pinbridge needs, and a 403 that repeats
//! unchanged across jobs. Decided from the error and what the engine knows of the account (no
//! I/O); `classify.rs` turns a finding into the "account needs attention" class.

use crate::pinterest::ApiError;
use crate::sync::scopes::missing_scopes;

/// Pinterest's code for "Apps with Trial access may not create Pins in production".
pub(super) const TRIAL_APP_CODE: i64 = 29;

/// 403 codes that are about the item, never the account ("Your image is too small", "Sorry,
/// this image is broken"): however often they repeat, they stay the item's.
const ITEM_403_CODES: [i64; 2] = [233, 235];

/// After this many distinct jobs in a row refused with the same 403, the account is the
/// problem. One or two can be bad items (a feed of small images); three different jobs refused
/// with the very same code and message and nothing succeeding in between is the account. Kept
/// small because every one of them is dead-lettered before the account is marked.
pub(super) const REPEATED_403_JOBS: u32 = 3;

/// What the engine knows of the account when the error came.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct AccountSignals<'a> {
    /// The token's granted scopes as its record has them; `None` when not known (a token from
    /// the config that was never refreshed).
    pub granted_scopes: Option<&'a str>,
    /// How many jobs in a row, this one included, got this very 403 (code and message).
    pub same_403_in_a_row: u32,
}

/// Why the account needs attention and what to do about it, or `None` when the error may be
/// the item's.
pub(super) fn account_problem(
    error: &ApiError,
    account: &str,
    signals: AccountSignals<'_>,
) -> Option<String> {
    let (forbidden_code, refused) = match error {
        ApiError::Forbidden { code, .. } => (*code, true),
        ApiError::Unauthorized { .. } => (None, true),
        _ => (None, false),
    };
    if !refused {
        return None;
    }
    if forbidden_code == Some(TRIAL_APP_CODE) {
        return Some(format!(
            "needs attention: the Pinterest app has Trial access, which may not create Pins in \
             production; use api_base = https://api-sandbox.pinterest.com with a sandbox token, \
             or apply for Standard access ({error})"
        ));
    }
    let missing = signals
        .granted_scopes
        .map(missing_scopes)
        .unwrap_or_default();
    if !missing.is_empty() {
        return Some(format!(
            "needs attention: the token lacks scopes; reconnect with `pinbridge auth --account \
             {account}` — scopes needed: {} ({error})",
            missing.join(", ")
        ));
    }
    let item_code = forbidden_code.is_some_and(|c| ITEM_403_CODES.contains(&c));
    if matches!(error, ApiError::Forbidden { .. })
        && !item_code
        && signals.same_403_in_a_row >= REPEATED_403_JOBS
    {
        return Some(format!(
            "needs attention: Pinterest refused {} jobs in a row the same way, so the account \
             is the problem, not the items; check the app's access and the token's scopes \
             (reconnect with `pinbridge auth --account {account}`), then `pinbridge items retry` \
             the jobs dead-lettered before this ({error})",
            signals.same_403_in_a_row
        ));
    }
    None
}

/// What makes two 403s "the same": Pinterest's code and message (not the request id).
pub(super) fn same_403_key(error: &ApiError) -> Option<String> {
    match error {
        ApiError::Forbidden { code, message, .. } => Some(format!("{code:?} {message}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(code: Option<i64>, message: &str) -> ApiError {
        ApiError::Forbidden {
            code,
            message: message.into(),
            request_id: Some("rid-9".into()),
        }
    }

    fn trial() -> ApiError {
        forbidden(
            Some(29),
            "Apps with Trial access may not create Pins in production https://api.pinterest.com - use API Sandbox https://api-sandbox.pinterest.com instead.",
        )
    }

    #[test]
    fn code_29_is_the_account_at_once_and_says_what_to_do() {
        let problem = account_problem(&trial(), "shop", AccountSignals::default()).unwrap();
        assert!(problem.contains("Trial access"), "{problem}");
        assert!(
            problem.contains("api_base = https://api-sandbox.pinterest.com with a sandbox token"),
            "{problem}"
        );
        assert!(problem.contains("apply for Standard access"), "{problem}");
        assert!(
            problem.contains("rid-9"),
            "Pinterest's words are kept: {problem}"
        );
    }

    #[test]
    fn a_refusal_with_scopes_missing_from_the_token_names_them() {
        let signals = AccountSignals {
            granted_scopes: Some("boards:read,pins:read"),
            same_403_in_a_row: 1,
        };
        for error in [
            forbidden(None, "Not authorized"),
            ApiError::Unauthorized {
                message: "Authentication failed.".into(),
                request_id: None,
            },
        ] {
            let problem = account_problem(&error, "shop", signals).unwrap();
            assert!(
                problem.contains(
                    "reconnect with `pinbridge auth --account shop` — scopes needed: boards:write, pins:write"
                ),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_full_grant_or_an_unknown_one_says_nothing_about_scopes() {
        let error = forbidden(None, "Not authorized");
        for granted in [Some("boards:read boards:write pins:read pins:write"), None] {
            let signals = AccountSignals {
                granted_scopes: granted,
                same_403_in_a_row: 1,
            };
            assert_eq!(account_problem(&error, "shop", signals), None);
        }
    }

    #[test]
    fn the_same_403_for_three_jobs_in_a_row_is_the_account() {
        let error = forbidden(Some(3), "Not allowed");
        let after = |n| AccountSignals {
            granted_scopes: None,
            same_403_in_a_row: n,
        };
        assert_eq!(account_problem(&error, "shop", after(2)), None);
        let problem = account_problem(&error, "shop", after(3)).unwrap();
        assert!(problem.contains("refused 3 jobs in a row"), "{problem}");
        assert!(problem.contains("pinbridge items retry"), "{problem}");
    }

    #[test]
    fn image_403s_stay_the_items_however_often() {
        let signals = AccountSignals {
            granted_scopes: None,
            same_403_in_a_row: 10,
        };
        for code in ITEM_403_CODES {
            let error = forbidden(Some(code), "Your image is too small");
            assert_eq!(account_problem(&error, "shop", signals), None);
        }
    }

    #[test]
    fn other_errors_are_not_the_accounts() {
        let error = ApiError::NotFound {
            code: Some(40),
            message: "Board not found.".into(),
            request_id: None,
        };
        let signals = AccountSignals {
            granted_scopes: Some(""),
            same_403_in_a_row: 5,
        };
        assert_eq!(account_problem(&error, "shop", signals), None);
    }

    #[test]
    fn the_same_403_means_same_code_and_message_whatever_the_request_id() {
        let a = forbidden(Some(3), "Not allowed");
        let mut b = forbidden(Some(3), "Not allowed");
        if let ApiError::Forbidden { request_id, .. } = &mut b {
            *request_id = Some("other".into());
        }
        assert_eq!(same_403_key(&a), same_403_key(&b));
        assert_ne!(
            same_403_key(&a),
            same_403_key(&forbidden(Some(4), "Not allowed"))
        );
    }
}
