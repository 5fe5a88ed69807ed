//! The OAuth scopes pinbridge needs, and which of them a token's granted scope string lacks.
//! Pinterest's spec gives `POST /pins` the scopes `boards:read boards:write pins:read
//! pins:write`; board lookups and creates need a subset of those.

/// What every account needs: list and create boards, create Pins.
pub const NEEDED_SCOPES: [&str; 4] = ["boards:read", "boards:write", "pins:read", "pins:write"];

/// The needed scopes that `granted` (a token record's `scope`, as the token endpoint answered
/// it) does not list. Separators vary (space in OAuth, commas in Pinterest's own client), so
/// both split it.
pub fn missing_scopes(granted: &str) -> Vec<&'static str> {
    let granted: Vec<&str> = granted
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect();
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
}
