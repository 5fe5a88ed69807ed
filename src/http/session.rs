//! Status-page sign-in: random session ids instead of the admin token in a cookie, and a
//! per-address backoff after failed sign-ins.
//!
//! A session cookie that leaks (a proxy log, a shared browser profile) is worth one session,
//! which expires; the admin token itself never leaves the operator's hands. Both tables live in
//! memory and are bounded, so neither many sign-ins nor many failing addresses can grow them
//! without limit. A restart signs everyone out, which is fine for an operator page.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a status-page session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; signing in past this ends the oldest session.
const MAX_SESSIONS: usize = 256;
/// Failed sign-ins from one address allowed before it has to wait.
const FREE_FAILURES: u32 = 5;
/// The longest wait imposed on one address.
const MAX_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Addresses tracked at once; past this the stalest entry is forgotten.
const MAX_TRACKED: usize = 4096;

/// Signed-in status-page sessions, by the SHA-256 of their id (a lookup then reveals nothing
/// about the ids through timing).
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Sessions {
    /// A new session; returns its id (64 hex characters from the OS's random source).
    pub fn create(&self) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let id = hex::encode(bytes);
        let now = Instant::now();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, expires| *expires > now);
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open.iter().min_by_key(|(_, e)| **e).map(|(k, _)| *k)
        {
            open.remove(&oldest);
        }
        open.insert(digest(&id), now + SESSION_TTL);
        id
    }

    /// Whether `id` names a live session.
    pub fn valid(&self, id: &str) -> bool {
        if id.is_empty() {
            return false;
        }
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&digest(id))
            .is_some_and(|expires| *expires > Instant::now())
    }
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Failed sign-ins per client address: after [`FREE_FAILURES`] an address must wait, twice as
/// long after each further failure, up to [`MAX_LOCKOUT`]. A success clears its record.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    fn locked_until(&self) -> Option<Instant> {
        let over = self.count.checked_sub(FREE_FAILURES)?;
        // 10 s, 20 s, 40 s … : slow enough that guessing a 32-character token is hopeless.
        let wait = Duration::from_secs(10u64 << over.min(10)).min(MAX_LOCKOUT);
        Some(self.last + wait)
    }
}

impl LoginThrottle {
    /// How long `client` must still wait before its next sign-in attempt, if at all.
    pub fn wait(&self, client: IpAddr) -> Option<Duration> {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let until = failures.get(&client)?.locked_until()?;
        until.checked_duration_since(Instant::now())
    }

    pub fn failed(&self, client: IpAddr) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&client) {
            // Forget records whose lockout is over (or that never reached one) first.
            failures.retain(|_, f| f.locked_until().is_some_and(|until| until > now));
            if failures.len() >= MAX_TRACKED
                && let Some(stalest) = failures.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| *k)
            {
                failures.remove(&stalest);
            }
        }
        let entry = failures.entry(client).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    pub fn succeeded(&self, client: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&client);
    }

    /// Addresses tracked now (for tests of the memory bound).
    pub fn tracked(&self) -> usize {
        self.failures.lock().map(|f| f.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_random_and_only_their_own_id_is_valid() {
        let sessions = Sessions::default();
        let a = sessions.create();
        let b = sessions.create();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(sessions.valid(&a) && sessions.valid(&b));
        assert!(!sessions.valid(""));
        assert!(!sessions.valid(&a[..63]));
    }

    #[test]
    fn the_session_table_is_bounded() {
        let sessions = Sessions::default();
        let first = sessions.create();
        for _ in 0..MAX_SESSIONS {
            sessions.create();
        }
        assert!(!sessions.valid(&first), "the oldest session made room");
        assert_eq!(sessions.open.lock().unwrap().len(), MAX_SESSIONS);
    }

    #[test]
    fn an_address_waits_after_repeated_failures_and_others_do_not() {
        let throttle = LoginThrottle::default();
        let bad: IpAddr = [10, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait(bad), None);
            throttle.failed(bad);
        }
        assert!(throttle.wait(bad).is_some());
        assert_eq!(throttle.wait(other), None);
        throttle.succeeded(bad);
        assert_eq!(throttle.wait(bad), None);
    }

    #[test]
    fn the_throttle_table_is_bounded() {
        let throttle = LoginThrottle::default();
        for i in 0..(MAX_TRACKED as u32 + 100) {
            throttle.failed(IpAddr::from(i.to_be_bytes()));
        }
        assert!(throttle.tracked() <= MAX_TRACKED);
    }
}
