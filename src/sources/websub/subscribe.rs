//! Asking hubs: discovery fetch, subscribe / renew, unsubscribe. Each request is recorded in
//! the store *before* it is sent, because many hubs verify intent before they even answer.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::BytesMut;
use rand::RngCore;
use reqwest::Client;
use reqwest::header::{self, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::discover::{Discovery, discover};
use super::state::Status;
use super::{Entry, WebSub, WebSubError, ms};
use crate::item::SourceId;
use crate::sources::feed::FeedSource;
use crate::sources::poll::{FeedError, fetch, ssrf};

/// What `maintain` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Maintained {
    /// Nothing was due.
    Idle,
    /// The feed advertises no hub.
    NoHub,
    /// Subscription (or renewal) requested from `hub` for `topic`.
    Requested { hub: String, topic: String },
}

/// Whether a client follows redirects: discovery does (feeds move), the hub POST does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Redirects {
    Follow,
    /// A 307/308 answer would resend the form, secret included, wherever it points (plain
    /// http too); a hub that moved is found again by discovery instead.
    Refuse,
}

/// One reqwest client per address and redirect policy, with the feed fetcher's SSRF guard.
#[derive(Default)]
pub(crate) struct Clients(Mutex<HashMap<(bool, Redirects), Client>>);

impl Clients {
    fn get(
        &self,
        allow_private: bool,
        redirects: Redirects,
        connect_timeout: Duration,
    ) -> Result<Client, FeedError> {
        let mut clients = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&(allow_private, redirects)) {
            return Ok(c.clone());
        }
        // Each redirect hop is checked like the feed fetcher checks them (IP literals bypass
        // the resolver's guard).
        let policy = match redirects {
            Redirects::Refuse => reqwest::redirect::Policy::none(),
            Redirects::Follow => reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= fetch::MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if ssrf::check_url(attempt.url(), allow_private).is_err() {
                    attempt.error("redirect to a blocked address")
                } else {
                    attempt.follow()
                }
            }),
        };
        let client = ssrf::guard(
            Client::builder()
                .connect_timeout(connect_timeout)
                .redirect(policy),
            allow_private,
        )
        .build()
        .map_err(|e| FeedError::BadUrl(format!("could not build the HTTP client: {e}")))?;
        clients.insert((allow_private, redirects), client.clone());
        Ok(client)
    }
}

impl WebSub {
    /// When `maintain` should next run for `id` (`None`: now).
    pub async fn next_check(&self, id: &SourceId) -> Result<Option<i64>, WebSubError> {
        let sub = self.subscription(id).await?;
        Ok(match sub.status {
            Status::None => None,
            _ => sub.next_check,
        })
    }

    /// Subscribe, renew or retry when due; otherwise do nothing. Every outcome sets the next
    /// check time, so a caller looping on it never spins.
    pub async fn maintain(&self, id: &SourceId) -> Result<Maintained, WebSubError> {
        let entry = self.entry(id.as_str())?;
        let now = self.now();
        {
            let _guard = entry.lock.lock().await;
            let sub = self.subscription(id).await?;
            if sub.status != Status::None && sub.next_check.is_some_and(|at| at > now) {
                return Ok(Maintained::Idle);
            }
        }
        let retry = now + ms(self.settings.retry_after);
        let found = match self.discover(&entry.source).await {
            Ok(found) => found,
            Err(err) => {
                let err = WebSubError::Discovery(err);
                self.note_failure(&entry, id, Status::Failed, &err.to_string(), retry)
                    .await?;
                return Err(err);
            }
        };
        let Some(Discovery { hubs, topic }) = found else {
            self.note_failure(&entry, id, Status::NoHub, "the feed names no hub", retry)
                .await?;
            return Ok(Maintained::NoHub);
        };
        let hub = hubs[0].clone();
        let allow_private = entry.source.settings().allow_private;
        // The secret is only worth something when nobody can read it on the way.
        if hub.scheme() != "https" && !allow_private {
            let err = WebSubError::InsecureHub(hub.to_string());
            self.note_failure(&entry, id, Status::Failed, &err.to_string(), retry)
                .await?;
            return Err(err);
        }
        let (secret, callback) = {
            let _guard = entry.lock.lock().await;
            let mut sub = self.subscription(id).await?;
            // A renewal of the same topic at the same hub keeps its secret and callback, so
            // pushes signed before the hub re-verifies still check and still arrive.
            let same = sub.hub.as_deref() == Some(hub.as_str())
                && sub.topic.as_deref() == Some(topic.as_str());
            let secret = match (&sub.secret, same) {
                (Some(s), true) => s.expose_secret().to_string(),
                _ => new_secret(),
            };
            let token = match (&sub.token, same) {
                (Some(t), true) => t.clone(),
                _ => new_token(),
            };
            if sub.status != Status::Active {
                sub.status = Status::Pending;
            }
            sub.hub = Some(hub.to_string());
            sub.topic = Some(topic.to_string());
            sub.secret = Some(SecretString::from(secret.clone()));
            sub.token = Some(token.clone());
            sub.awaiting = Some("subscribe".into());
            sub.requested_at = Some(now);
            sub.next_check = Some(now + ms(self.settings.pending_timeout));
            let callback = self.callback_url(id, Some(&token))?;
            self.save(id, &sub).await?;
            (secret, callback)
        };
        let lease = self.settings.lease.as_secs().to_string();
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", callback.as_str()),
            ("hub.lease_seconds", lease.as_str()),
            ("hub.secret", secret.as_str()),
        ];
        if let Err(err) = self.post_hub(&entry.source, &hub, &form).await {
            self.note_failure(&entry, id, Status::Failed, &err.to_string(), retry)
                .await?;
            return Err(err);
        }
        tracing::info!(source = %id, hub = %hub, topic = %topic, "WebSub subscription requested.");
        Ok(Maintained::Requested {
            hub: hub.to_string(),
            topic: topic.to_string(),
        })
    }

    /// Ask the hub to stop pushing. The record is cleared when the hub verifies.
    pub async fn unsubscribe(&self, id: &SourceId) -> Result<(), WebSubError> {
        let entry = self.entry(id.as_str())?;
        let (hub, topic, token) = {
            let _guard = entry.lock.lock().await;
            let mut sub = self.subscription(id).await?;
            let (Some(hub), Some(topic)) = (sub.hub.clone(), sub.topic.clone()) else {
                return Ok(());
            };
            let now = self.now();
            sub.status = Status::Unsubscribing;
            sub.awaiting = Some("unsubscribe".into());
            sub.requested_at = Some(now);
            sub.next_check = Some(now + ms(self.settings.retry_after));
            self.save(id, &sub).await?;
            (hub, topic, sub.token.clone())
        };
        let hub = Url::parse(&hub).map_err(|e| WebSubError::HubUnreachable {
            hub: hub.clone(),
            reason: e.to_string(),
        })?;
        let callback = self.callback_url(id, token.as_deref())?;
        let form = [
            ("hub.mode", "unsubscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", callback.as_str()),
        ];
        self.post_hub(&entry.source, &hub, &form).await
    }

    /// After a successful poll while push is active, the next poll waits for the fallback
    /// interval instead of the feed's own.
    pub async fn after_poll(&self, id: &SourceId) -> Result<(), WebSubError> {
        let sub = self.subscription(id).await?;
        let now = self.now();
        if sub.status != Status::Active || sub.lease_until.is_none_or(|until| until <= now) {
            return Ok(());
        }
        let mut state = self.ctx.state(id).await?;
        let later = now + ms(self.settings.fallback_interval);
        if state.next_poll.is_none_or(|at| at < later) {
            state.next_poll = Some(later);
            self.ctx.save_state(id, &state).await?;
        }
        Ok(())
    }

    async fn note_failure(
        &self,
        entry: &Entry,
        id: &SourceId,
        status: Status,
        note: &str,
        next_check: i64,
    ) -> Result<(), WebSubError> {
        let _guard = entry.lock.lock().await;
        let mut sub = self.subscription(id).await?;
        // An active lease stays usable until it ends; only the retry time moves.
        if sub.status != Status::Active {
            sub.status = status;
        }
        sub.note = Some(note.to_string());
        sub.next_check = Some(match (sub.status, sub.lease_until) {
            // Retry before the lease runs out, but never in a loop once it has.
            (Status::Active, Some(until)) if until > self.now() => next_check.min(until),
            _ => next_check,
        });
        self.save(id, &sub).await?;
        tracing::warn!(source = %id, status = status.name(), problem = %note, "WebSub subscription failed; will check again.");
        Ok(())
    }

    /// GET the topic (unconditionally) and look for hubs in its headers, then its body.
    async fn discover(&self, source: &FeedSource) -> Result<Option<Discovery>, FeedError> {
        let settings = source.settings();
        let url = source.url();
        ssrf::check_url(url, settings.allow_private)?;
        let client = self.clients.get(
            settings.allow_private,
            Redirects::Follow,
            settings.connect_timeout,
        )?;
        let fetch = async {
            let mut response = client
                .get(url.clone())
                .header(header::ACCEPT, HeaderValue::from_static(fetch::FEED_ACCEPT))
                .header(header::USER_AGENT, source.user_agent())
                .send()
                .await
                .map_err(|e| network(url, &e))?;
            if !response.status().is_success() {
                return Err(FeedError::Http {
                    status: response.status().as_u16(),
                    retry_after: None,
                });
            }
            let links: Vec<String> = response
                .headers()
                .get_all(header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_owned))
                .collect();
            let fetched = response.url().clone();
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| network(url, &e))? {
                if (body.len() + chunk.len()) as u64 > settings.max_body_bytes {
                    return Err(FeedError::TooLarge {
                        limit: settings.max_body_bytes,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(discover(links.iter().map(String::as_str), &body, &fetched))
        };
        match tokio::time::timeout(settings.timeout, fetch).await {
            Ok(result) => result,
            Err(_) => Err(FeedError::Timeout {
                after: settings.timeout,
            }),
        }
    }

    async fn post_hub(
        &self,
        source: &FeedSource,
        hub: &Url,
        form: &[(&str, &str)],
    ) -> Result<(), WebSubError> {
        let settings = source.settings();
        let unreachable = |reason: String| WebSubError::HubUnreachable {
            hub: hub.to_string(),
            reason,
        };
        ssrf::check_url(hub, settings.allow_private).map_err(|e| unreachable(e.to_string()))?;
        let client = self
            .clients
            .get(
                settings.allow_private,
                Redirects::Refuse,
                settings.connect_timeout,
            )
            .map_err(|e| unreachable(e.to_string()))?;
        let response = client
            .post(hub.clone())
            // The hub sees the same User-Agent as the feed's publisher.
            .header(header::USER_AGENT, source.user_agent())
            .form(form)
            .timeout(settings.timeout)
            .send()
            .await
            // Without the URL: the form (and its secret) is never part of reqwest's message,
            // but the hub URL may carry credentials.
            .map_err(|e| unreachable(e.without_url().to_string()))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(WebSubError::HubStatus {
                hub: hub.to_string(),
                status: response.status().as_u16(),
            })
        }
    }
}

fn network(url: &Url, err: &reqwest::Error) -> FeedError {
    FeedError::BadUrl(format!(
        "{} could not be fetched: {}",
        crate::sources::poll::error::redact(url),
        crate::sources::poll::error::describe(err)
    ))
}

/// 32 random bytes as hex: 64 characters, within the spec's 200-byte limit.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A callback URL's last segment: 16 random bytes as hex, unguessable.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
