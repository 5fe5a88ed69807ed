//! The write quota learned from 429s, so the pacer settles just under it instead of climbing
//! back into 429s every minute.
//!
//! Pinterest does not publish an account's write quota in its answers (rate-limit headers are
//! optional), and `writes_per_minute` may be set above it. When a 429 comes, the writes let
//! through in the last window (the 429's own write not counted) are a measured upper bound of
//! what the quota allows: against a sliding-window quota it is the quota exactly. The learned
//! ceiling caps the pacer's window below `writes_per_minute`:
//!
//! - the first 429 learns the writes that passed in the window;
//! - a 429 while a ceiling is known means it is still too high (a token-bucket quota lets a
//!   burst through first, so the first count overshoots): it drops to a tenth under the lower of
//!   the ceiling and the count, and stays there;
//! - 429s within two seconds of the one that taught the ceiling are the same episode (writes
//!   already on their way, with several workers) and teach nothing more;
//! - a 429 after only a handful of writes (fewer than an eighth of `writes_per_minute`) teaches
//!   nothing: it is a burst or another limit, not a per-minute quota;
//! - after an hour without a 429 the ceiling rises by a tenth, so a ceiling learned from a
//!   stray 429 heals, at the cost of at most one probing 429 an hour.
//!
//! Times are [`Millis`] from the caller, so the rules are tested without a clock. The ceiling
//! is this process's: replicas sharing a store each learn their own (the shared quota record
//! keeps the block a 429 causes, which every replica honours).

use crate::store::Millis;

/// How long the ceiling holds without a 429 before it is raised by a tenth.
pub(crate) const PROBE_AFTER_MS: Millis = 3_600_000;

/// A known ceiling met another 429: keep this share of it.
const CUT: f64 = 0.9;

/// 429s this soon after the one that taught the ceiling answer writes sent before it.
const EPISODE_MS: Millis = 2_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LearnedCeiling {
    /// Writes allowed per window; `None` until a 429 teaches one.
    per_window: Option<u32>,
    /// When it was last learned or raised.
    since: Millis,
    /// When a 429 last taught it.
    taught_at: Millis,
}

impl LearnedCeiling {
    /// The writes per window to allow at `now`: the learned ceiling, never above `configured`.
    pub fn limit(&mut self, configured: u32, now: Millis) -> u32 {
        let Some(mut ceiling) = self.per_window else {
            return configured;
        };
        while now - self.since >= PROBE_AFTER_MS && ceiling < configured {
            ceiling += (ceiling / 10).max(1);
            self.since += PROBE_AFTER_MS;
        }
        if ceiling >= configured {
            // Probed back up to the configured rate: nothing learned any more.
            self.per_window = None;
            return configured;
        }
        self.per_window = Some(ceiling);
        ceiling
    }

    /// A 429 (not a spam block) arrived after `in_window` writes were let through in the last
    /// window, the 429's own write included.
    pub fn met_429(&mut self, in_window: u32, configured: u32, now: Millis) {
        let passed = in_window.saturating_sub(1);
        if passed < (configured / 8).max(1) {
            return;
        }
        let learned = match self.per_window {
            None => passed,
            Some(_) if now - self.taught_at < EPISODE_MS => return,
            Some(_) => {
                let known = self.limit(configured, now).min(passed);
                (f64::from(known) * CUT).floor() as u32
            }
        };
        let learned = learned.max(1);
        if learned < configured {
            self.per_window = Some(learned);
            self.since = now;
            self.taught_at = now;
        }
    }

    /// The learned ceiling, if any (for status and tests).
    pub fn learned(&self) -> Option<u32> {
        self.per_window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_learned_means_the_configured_rate() {
        let mut c = LearnedCeiling::default();
        assert_eq!(c.limit(240, 0), 240);
        assert_eq!(c.learned(), None);
    }

    #[test]
    fn a_sliding_window_quota_is_learned_exactly_once() {
        let mut c = LearnedCeiling::default();
        // 60 writes passed, the 61st met the 429.
        c.met_429(61, 240, 1_000);
        assert_eq!(c.limit(240, 1_000), 60);
        assert_eq!(c.limit(240, 1_000 + PROBE_AFTER_MS - 1), 60, "it holds");
    }

    #[test]
    fn a_second_429_under_the_ceiling_cuts_it_by_a_tenth() {
        let mut c = LearnedCeiling::default();
        // A token bucket let its burst through first: the count overshoots the quota of 60.
        c.met_429(67, 240, 0);
        assert_eq!(c.limit(240, 0), 66);
        c.met_429(66, 240, 20_000);
        assert_eq!(c.limit(240, 20_000), 58, "floor(65 * 0.9)");
        // A later 429 counted at a lower window is cut from that count.
        c.met_429(41, 240, 40_000);
        assert_eq!(c.limit(240, 40_000), 36);
    }

    #[test]
    fn the_other_workers_429s_of_one_episode_teach_nothing_more() {
        let mut c = LearnedCeiling::default();
        c.met_429(61, 240, 10_000);
        c.met_429(62, 240, 10_050);
        c.met_429(63, 240, 11_999);
        assert_eq!(c.learned(), Some(60));
        c.met_429(61, 240, 12_000);
        assert_eq!(c.learned(), Some(54), "a later 429 is a new one");
    }

    #[test]
    fn a_429_after_a_handful_of_writes_teaches_nothing() {
        let mut c = LearnedCeiling::default();
        c.met_429(3, 240, 0);
        assert_eq!(c.learned(), None, "an injected burst is not the quota");
        c.met_429(31, 240, 0);
        assert_eq!(
            c.learned(),
            Some(30),
            "an eighth of the configured rate is enough"
        );
        c.met_429(1, 240, 0);
        assert_eq!(c.learned(), Some(30));
    }

    #[test]
    fn never_above_the_configured_rate() {
        let mut c = LearnedCeiling::default();
        c.met_429(500, 240, 0);
        assert_eq!(c.learned(), None);
        assert_eq!(c.limit(240, 0), 240);
    }

    #[test]
    fn an_hour_without_a_429_raises_it_by_a_tenth_until_forgotten() {
        let mut c = LearnedCeiling::default();
        c.met_429(101, 240, 0);
        assert_eq!(c.limit(240, PROBE_AFTER_MS), 110);
        assert_eq!(c.limit(240, 2 * PROBE_AFTER_MS + 5), 121);
        // A 429 at the raised ceiling cuts it again and restarts the hour.
        c.met_429(122, 240, 2 * PROBE_AFTER_MS + 10);
        assert_eq!(c.limit(240, 2 * PROBE_AFTER_MS + 10), 108);
        assert_eq!(c.limit(240, 3 * PROBE_AFTER_MS + 9), 108);
        // Many clean hours later it is forgotten.
        assert_eq!(c.limit(240, 30 * PROBE_AFTER_MS), 240);
        assert_eq!(c.learned(), None);
    }
}
