//! The sandbox's in-memory world: users, tokens, boards, sections, Pins, counters. All of it sits
//! behind one std mutex held only for short, non-async sections.

use std::collections::{HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::faults::Faults;
use super::quota::Bucket;
use super::record::Exchange;
use crate::clock::Millis;

/// What the sandbox has counted since it started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SandboxStats {
    /// Every HTTP request, token endpoint included.
    pub requests: u64,
    pub pins_created: u64,
    pub pins_deleted: u64,
    pub pins_updated: u64,
    pub boards_created: u64,
    pub sections_created: u64,
    /// Every 429 answer (quota and forced bursts).
    pub rate_limited: u64,
    /// Pin analytics calls (single and batch) that reached the sandbox authenticated.
    pub analytics_requests: u64,
    /// Of those, the ones answered 429 (`org_analytics` quota or forced analytics bursts).
    pub analytics_rate_limited: u64,
    /// 5xx answers injected before doing anything.
    pub injected_5xx: u64,
    /// Pins created whose answer was then a 500 or a dropped connection.
    pub create_then_fail: u64,
    /// 401 answers on the API (unknown, expired or missing bearer token).
    pub unauthorized: u64,
    pub refresh_grants: u64,
    pub code_grants: u64,
    pub client_credentials_grants: u64,
}

pub(crate) struct UserRec {
    pub id: String,
    pub username: String,
}

pub(crate) struct TokenRec {
    pub user_id: String,
    pub expires_at: Millis,
    pub scope: String,
}

pub(crate) struct CodeRec {
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
}

pub(crate) struct BoardRec {
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub description: Option<String>,
    pub privacy: String,
    pub created_at: Millis,
}

pub(crate) struct SectionRec {
    pub id: u64,
    pub board_id: u64,
    pub name: String,
}

#[derive(Clone)]
pub(crate) struct PinRec {
    pub id: u64,
    pub owner: String,
    pub board_id: u64,
    pub section_id: Option<u64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    pub dominant_color: Option<String>,
    pub image_url: String,
    pub created_at: Millis,
}

pub(crate) struct State {
    pub rng: StdRng,
    next_id: u64,
    pub users: Vec<UserRec>,
    pub access: HashMap<String, TokenRec>,
    pub refresh: HashMap<String, TokenRec>,
    pub codes: HashMap<String, CodeRec>,
    pub boards: Vec<BoardRec>,
    pub sections: Vec<SectionRec>,
    pub pins: Vec<PinRec>,
    /// Admitted write times per user (sliding one-minute window).
    pub writes: HashMap<String, VecDeque<Millis>>,
    /// Token buckets per user (when the quota is a token bucket).
    pub buckets: HashMap<String, Bucket>,
    pub faults: Faults,
    /// Forced 429s still to give.
    pub burst_left: u32,
    /// Admitted Pin analytics call times per user (sliding one-minute window).
    pub analytics_calls: HashMap<String, VecDeque<Millis>>,
    /// Forced analytics 429s still to give.
    pub analytics_burst_left: u32,
    pub stats: SandboxStats,
    pub recording: Option<Vec<Exchange>>,
}

impl State {
    pub fn new(seed: u64, faults: Faults) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            // Ids look like Pinterest's: long numeric strings.
            next_id: 549_755_813_888,
            users: Vec::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            boards: Vec::new(),
            sections: Vec::new(),
            pins: Vec::new(),
            writes: HashMap::new(),
            buckets: HashMap::new(),
            burst_left: faults.burst_429,
            analytics_calls: HashMap::new(),
            analytics_burst_left: faults.analytics_burst_429,
            faults,
            stats: SandboxStats::default(),
            recording: None,
        }
    }

    /// Ids grow with creation time, so they double as pagination cursors.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1 + self.rng.random_range(0..16u64);
        self.next_id
    }

    pub fn random_string(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        for _ in 0..len {
            s.push(ALPHABET[self.rng.random_range(0..ALPHABET.len())] as char);
        }
        s
    }

    pub fn user(&self, id: &str) -> Option<&UserRec> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn add_user(&mut self, username: &str) -> String {
        let id = self.next_id().to_string();
        self.users.push(UserRec {
            id: id.clone(),
            username: username.to_string(),
        });
        id
    }

    /// Issue an access token (and a refresh token when `refresh_ttl` is given).
    pub fn issue_tokens(
        &mut self,
        user_id: &str,
        scope: &str,
        now: Millis,
        access_ttl: Millis,
        refresh_ttl: Option<Millis>,
    ) -> (String, Option<String>) {
        let access = self.random_string("pina_", 40);
        self.access.insert(
            access.clone(),
            TokenRec {
                user_id: user_id.to_string(),
                expires_at: now.saturating_add(access_ttl),
                scope: scope.to_string(),
            },
        );
        let refresh = refresh_ttl.map(|ttl| {
            let refresh = self.random_string("pinr_", 40);
            self.refresh.insert(
                refresh.clone(),
                TokenRec {
                    user_id: user_id.to_string(),
                    expires_at: now.saturating_add(ttl),
                    scope: scope.to_string(),
                },
            );
            refresh
        });
        (access, refresh)
    }

    pub fn board(&self, id: u64) -> Option<&BoardRec> {
        self.boards.iter().find(|b| b.id == id)
    }

    pub fn owned_board(&self, id: &str, user_id: &str) -> Option<&BoardRec> {
        let id: u64 = id.parse().ok()?;
        self.board(id).filter(|b| b.owner == user_id)
    }

    pub fn section(&self, id: u64) -> Option<&SectionRec> {
        self.sections.iter().find(|s| s.id == id)
    }

    pub fn username(&self, user_id: &str) -> String {
        self.user(user_id)
            .map(|u| u.username.clone())
            .unwrap_or_default()
    }

    pub fn board_json(&self, b: &BoardRec) -> Value {
        let pin_count = self.pins.iter().filter(|p| p.board_id == b.id).count();
        json!({
            "id": b.id.to_string(),
            "name": b.name,
            "description": b.description,
            "privacy": b.privacy,
            "owner": {"username": self.username(&b.owner)},
            "created_at": rfc3339(b.created_at),
            "board_pins_modified_at": rfc3339(b.created_at),
            "pin_count": pin_count,
            "follower_count": 0,
            "collaborator_count": 0,
            "is_ads_only": false,
        })
    }

    pub fn pin_json(&self, p: &PinRec) -> Value {
        // The sandbox never fetches the image, so it knows no dimensions.
        let image = |size: &str| json!({"url": format!("{}#{size}", p.image_url), "width": null, "height": null});
        json!({
            "id": p.id.to_string(),
            "created_at": rfc3339(p.created_at),
            "link": p.link,
            "title": p.title,
            "description": p.description,
            "alt_text": p.alt_text,
            "dominant_color": p.dominant_color,
            "board_id": p.board_id.to_string(),
            "board_section_id": p.section_id.map(|s| s.to_string()),
            "board_owner": {"username": self.username(&p.owner)},
            "parent_pin_id": null,
            "is_owner": true,
            "is_standard": true,
            "has_been_promoted": false,
            "creative_type": "REGULAR",
            "media": {"media_type": "image", "images": {
                "150x150": image("150x150"), "400x300": image("400x300"),
                "600x": image("600x"), "1200x": image("1200x")}},
        })
    }
}

/// RFC 3339 in UTC, seconds precision, like the API (`2022-01-03T12:14:34Z`).
pub(crate) fn rfc3339(ms: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
