//! The OAuth scopes pinbridge needs, and which of them a token's granted scope string lacks.
//! Pinterest's spec gives `POST /pins` the scopes `boards:read boards:write pins:read
//! pins:write`; board lookups and creates need a subset of those. Secret boards need more: a
//! token sees them only with `boards:read_secret`, makes them with `boards:write_secret`, and
//! reads their Pins (reconcile) with `pins:read_secret`, so those are asked for only when a
//! route wants a secret board.

/// What every account needs: list and create boards, create Pins.
pub const NEEDED_SCOPES: [&str; 4] = ["boards:read", "boards:write", "pins:read", "pins:write"];

/// What an account needs on top of [`NEEDED_SCOPES`] when one of its routes wants a secret board.
pub const SECRET_BOARD_SCOPES: [&str; 3] = [
    "boards:read_secret",
    "boards:write_secret",
    "pins:read_secret",
];

/// The scope without which `GET /boards` leaves secret boards out.
pub const READ_SECRET_BOARDS: &str = "boards:read_secret";

/// Whether `granted` (a token record's `scope`) lists `scope`.
pub fn grants(granted: &str, scope: &str) -> bool {
    scope_list(granted).contains(&scope)
}

/// Like [`missing_scopes`], and the secret-board scopes too when `secret_boards`.
pub fn missing_scopes_for(granted: &str, secret_boards: bool) -> Vec<&'static str> {
    let mut missing = missing_scopes(granted);
    if secret_boards {
        let granted = scope_list(granted);
        missing.extend(
            SECRET_BOARD_SCOPES
                .into_iter()
                .filter(|needed| !granted.contains(needed)),
        );
    }
    missing
}

/// The scopes in a granted scope string. Separators vary (space in OAuth, commas in
/// Pinterest's own client), so both split it.
fn scope_list(granted: &str) -> Vec<&str> {
    granted
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The needed scopes that `granted` (a token record's `scope`, as the token endpoint answered
/// it) does not list. Separators vary (space in OAuth, commas in Pinterest's own client), so
/// both split it.
pub fn missing_scopes(granted: &str) -> Vec<&'static str> {
    let granted = scope_list(granted);
    NEEDED_SCOPES
        .into_iter()
        .filter(|needed| !granted.contains(needed))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_grant_lacks_nothing_whatever_the_separator() {
        assert!(missing_scopes("boards:read boards:write pins:read pins:write").is_empty());
        assert!(
            missing_scopes("user_accounts:read,boards:read,boards:write,pins:read,pins:write")
                .is_empty()
        );
    }

    #[test]
    fn a_read_only_grant_lacks_the_writes() {
        assert_eq!(
            missing_scopes("boards:read pins:read"),
            vec!["boards:write", "pins:write"]
        );
        assert_eq!(missing_scopes(""), NEEDED_SCOPES.to_vec());
    }

    #[test]
    fn secret_board_scopes_are_missing_only_when_a_route_wants_a_secret_board() {
        let full = "boards:read boards:write pins:read pins:write";
        assert!(missing_scopes_for(full, false).is_empty());
        assert_eq!(missing_scopes_for(full, true), SECRET_BOARD_SCOPES.to_vec());
        let secret = format!("{full} boards:read_secret,boards:write_secret pins:read_secret");
        assert!(missing_scopes_for(&secret, true).is_empty());
        assert!(grants(&secret, READ_SECRET_BOARDS));
        assert!(!grants(full, READ_SECRET_BOARDS));
    }
}
