//! A WebSub subscription as remembered in the store: `SourceState.extra` of a companion record
//! (`<source id>#websub`), so the feed poller, which rewrites its own state after every poll,
//! can never overwrite a verification that arrived during the poll.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::item::SourceId;
use crate::store::{Millis, SourceState};

/// Where a subscription stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Never tried, or forgotten after unsubscribing.
    #[default]
    None,
    /// Discovery found no hub; looked again at `next_check`.
    NoHub,
    /// Asked the hub; waiting for its verification of intent.
    Pending,
    /// Verified: the hub pushes until `lease_until`.
    Active,
    /// The hub refused (`hub.mode=denied`) or the request failed; tried again at `next_check`.
    Denied,
    Failed,
    /// Asked the hub to stop; waiting for its verification.
    Unsubscribing,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::None => "none",
            Status::NoHub => "no_hub",
            Status::Pending => "pending",
            Status::Active => "active",
            Status::Denied => "denied",
            Status::Failed => "failed",
            Status::Unsubscribing => "unsubscribing",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "no_hub" => Status::NoHub,
            "pending" => Status::Pending,
            "active" => Status::Active,
            "denied" => Status::Denied,
            "failed" => Status::Failed,
            "unsubscribing" => Status::Unsubscribing,
            _ => Status::None,
        }
    }
}

/// One source's subscription.
#[derive(Clone, Default)]
pub struct Subscription {
    pub status: Status,
    pub hub: Option<String>,
    pub topic: Option<String>,
    /// The `hub.secret` pushes are signed with. Never logged (Debug prints `***`).
    pub secret: Option<SecretString>,
    pub lease_until: Option<Millis>,
    /// When the last request was sent to the hub.
    pub requested_at: Option<Millis>,
    /// The request sent and not yet verified (`subscribe` or `unsubscribe`): a verification of
    /// intent is accepted only for it, once.
    pub awaiting: Option<String>,
    /// The random last segment of this subscription's callback URL
    /// (`/websub/{source id}/{token}`): only the hub it was sent to knows it. `None` for a
    /// subscription made before callbacks carried one.
    pub token: Option<String>,
    /// When `maintain` should act next (renew, retry, look for a hub again).
    pub next_check: Option<Millis>,
    /// The hub's denial reason or the last error, for status displays.
    pub note: Option<String>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("status", &self.status)
            .field("hub", &self.hub)
            .field("topic", &self.topic)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("lease_until", &self.lease_until)
            .field("requested_at", &self.requested_at)
            .field("awaiting", &self.awaiting)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("next_check", &self.next_check)
            .field("note", &self.note)
            .finish()
    }
}

const PREFIX: &str = "websub.";

/// The store record holding `source`'s subscription.
pub fn record_id(source: &SourceId) -> SourceId {
    SourceId::new(format!("{source}#websub"))
}

impl Subscription {
    /// Read from a state's extras; unknown or missing keys mean "no subscription".
    pub fn from_state(state: &SourceState) -> Self {
        let get = |k: &str| state.extra.get(&format!("{PREFIX}{k}")).cloned();
        let num = |k: &str| get(k).and_then(|v| v.parse::<Millis>().ok());
        Subscription {
            status: get("status").map_or(Status::None, |s| Status::parse(&s)),
            hub: get("hub"),
            topic: get("topic"),
            secret: get("secret").map(SecretString::from),
            lease_until: num("lease_until"),
            requested_at: num("requested_at"),
            awaiting: get("awaiting"),
            token: get("token"),
            next_check: num("next_check"),
            note: get("note"),
        }
    }

    /// Write into a state's extras (replacing every `websub.` key).
    pub fn to_state(&self, state: &mut SourceState) {
        state.extra.retain(|k, _| !k.starts_with(PREFIX));
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                state.extra.insert(format!("{PREFIX}{k}"), v);
            }
        };
        put("status", Some(self.status.name().to_string()));
        put("hub", self.hub.clone());
        put("topic", self.topic.clone());
        put(
            "secret",
            self.secret.as_ref().map(|s| s.expose_secret().to_string()),
        );
        put("lease_until", self.lease_until.map(|v| v.to_string()));
        put("requested_at", self.requested_at.map(|v| v.to_string()));
        put("awaiting", self.awaiting.clone());
        put("token", self.token.clone());
        put("next_check", self.next_check.map(|v| v.to_string()));
        put("note", self.note.clone());
    }

    /// A verification of intent for `mode` and `topic` answers the request we sent at most
    /// `window` ms before `now` and have not seen verified. Anything else (a topic we did not
    /// ask for, a replay, a verification nobody asked for) is refused.
    pub fn awaits(&self, mode: &str, topic: &str, now: Millis, window: Millis) -> bool {
        self.awaiting.as_deref() == Some(mode)
            && self.topic.as_deref() == Some(topic)
            && self
                .requested_at
                .is_some_and(|at| at <= now && now - at <= window)
    }
}

/// For tests and displays: the extras as a plain map without the secret.
pub fn public_view(extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    extra
        .iter()
        .filter(|(k, _)| k.starts_with(PREFIX) && !k.ends_with("secret"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_extras_and_hides_the_secret_in_debug() {
        let sub = Subscription {
            status: Status::Active,
            hub: Some("https://hub.example/".into()),
            topic: Some("https://b.example/feed".into()),
            secret: Some(SecretString::from("hunter2hunter2")),
            lease_until: Some(42),
            requested_at: Some(7),
            awaiting: Some("subscribe".into()),
            token: Some("tok".into()),
            next_check: Some(40),
            note: None,
        };
        let mut state = SourceState::default();
        state.extra.insert("other".into(), "kept".into());
        sub.to_state(&mut state);
        let back = Subscription::from_state(&state);
        assert_eq!(back.status, Status::Active);
        assert_eq!(back.lease_until, Some(42));
        assert_eq!(
            back.secret.as_ref().map(|s| s.expose_secret().to_string()),
            Some("hunter2hunter2".into())
        );
        assert_eq!(state.extra.get("other").map(String::as_str), Some("kept"));
        assert!(!format!("{back:?}").contains("hunter2"));
        assert!(
            !public_view(&state.extra)
                .values()
                .any(|v| v.contains("hunter2"))
        );
        assert_eq!(back.token.as_deref(), Some("tok"));
        assert!(back.awaits("subscribe", "https://b.example/feed", 8, 10));
        assert!(!back.awaits("subscribe", "https://b.example/other", 8, 10));
        assert!(!back.awaits("unsubscribe", "https://b.example/feed", 8, 10));
        assert!(!back.awaits("subscribe", "https://b.example/feed", 100, 10));
    }
}
