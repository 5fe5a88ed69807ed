//! The pending flows of one account, as pure functions over its store record: start one, find
//! one by its `state`, claim it once, drop it. The store applies them inside
//! `update_account_state`, so two replicas (or two tabs) never both take one flow.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::Millis;
use crate::store::{AccountState, PendingConnect};

/// How long a browser has to come back from Pinterest.
pub const FLOW_TTL_MS: Millis = 10 * 60 * 1000;
/// Flows kept per account: starting more drops the oldest (a flow is only a click away).
const MAX_PENDING: usize = 8;

/// 32 bytes from the OS's random source, as 64 hex characters.
pub fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// SHA-256, hex: what the store keeps instead of a state or cookie value.
pub fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Add `flow`, first dropping expired and used flows, and the oldest past [`MAX_PENDING`].
pub fn add(state: &mut AccountState, flow: PendingConnect, now: Millis) {
    state
        .connects
        .retain(|f| f.expires_at > now && f.claimed_by.is_none());
    state.connects.sort_by_key(|f| f.expires_at);
    while state.connects.len() >= MAX_PENDING {
        state.connects.remove(0);
    }
    state.connects.push(flow);
}

/// The flow whose state has this digest.
pub fn find<'a>(state: &'a AccountState, state_digest: &str) -> Option<&'a PendingConnect> {
    state
        .connects
        .iter()
        .find(|f| same(&f.state_digest, state_digest))
}

/// Why a callback may not use a flow.
#[derive(Debug, PartialEq, Eq)]
pub enum Unusable {
    Used,
    Expired,
    OtherBrowser,
}

/// Whether the browser that presents `cookie` may finish `flow` now.
pub fn usable(flow: &PendingConnect, cookie: Option<&str>, now: Millis) -> Result<(), Unusable> {
    if flow.claimed_by.is_some() {
        return Err(Unusable::Used);
    }
    if flow.expires_at <= now {
        return Err(Unusable::Expired);
    }
    match &flow.browser_digest {
        None => Ok(()),
        Some(expected) => match cookie {
            Some(value) if same(&digest(value), expected) => Ok(()),
            _ => Err(Unusable::OtherBrowser),
        },
    }
}

/// Mark the flow with `state_digest` as taken by `claim`, if it is still free and live. Run
/// inside the store's atomic update; the caller then checks [`claimed_by`] on the result.
pub fn claim(state: &mut AccountState, state_digest: &str, claim: &str, now: Millis) {
    if let Some(flow) = state
        .connects
        .iter_mut()
        .find(|f| same(&f.state_digest, state_digest))
        && flow.claimed_by.is_none()
        && flow.expires_at > now
    {
        flow.claimed_by = Some(claim.to_string());
    }
}

/// Whether `claim` holds the flow with `state_digest` in `state`.
pub fn claimed_by(state: &AccountState, state_digest: &str, claim: &str) -> bool {
    find(state, state_digest).is_some_and(|f| f.claimed_by.as_deref() == Some(claim))
}

/// Forget the flow with `state_digest`.
pub fn remove(state: &mut AccountState, state_digest: &str) {
    state
        .connects
        .retain(|f| !same(&f.state_digest, state_digest));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(state: &str, browser: Option<&str>, expires_at: Millis) -> PendingConnect {
        PendingConnect {
            state_digest: digest(state),
            browser_digest: browser.map(digest),
            expires_at,
            claimed_by: None,
        }
    }

    #[test]
    fn a_flow_is_claimed_once() {
        let mut account = AccountState::default();
        add(&mut account, flow("s1", Some("b1"), 100), 0);
        let d = digest("s1");
        claim(&mut account, &d, "first", 10);
        claim(&mut account, &d, "second", 10);
        assert!(claimed_by(&account, &d, "first"));
        assert!(!claimed_by(&account, &d, "second"));
        assert_eq!(
            usable(find(&account, &d).unwrap(), Some("b1"), 10),
            Err(Unusable::Used)
        );
    }

    #[test]
    fn only_the_starting_browser_before_expiry_may_finish() {
        let f = flow("s", Some("browser"), 100);
        assert_eq!(usable(&f, Some("browser"), 99), Ok(()));
        assert_eq!(usable(&f, Some("other"), 99), Err(Unusable::OtherBrowser));
        assert_eq!(usable(&f, None, 99), Err(Unusable::OtherBrowser));
        assert_eq!(usable(&f, Some("browser"), 100), Err(Unusable::Expired));
        let mut account = AccountState::default();
        add(&mut account, f, 0);
        claim(&mut account, &digest("s"), "late", 100);
        assert!(!claimed_by(&account, &digest("s"), "late"));
        // Started with the admin token: any browser with the state may finish.
        assert_eq!(usable(&flow("t", None, 100), None, 0), Ok(()));
    }

    #[test]
    fn the_list_drops_dead_flows_and_stays_bounded() {
        let mut account = AccountState::default();
        add(&mut account, flow("old", None, 5), 0);
        add(&mut account, flow("live", None, 50), 0);
        add(&mut account, flow("new", None, 60), 10);
        assert!(find(&account, &digest("old")).is_none());
        for i in 0..20 {
            add(&mut account, flow(&format!("n{i}"), None, 100 + i), 10);
        }
        assert_eq!(account.connects.len(), MAX_PENDING);
        assert!(find(&account, &digest("n19")).is_some());
        remove(&mut account, &digest("n19"));
        assert!(find(&account, &digest("n19")).is_none());
    }
}
