//! A source's `on_change` setting: what the store does when a known item comes back changed.

use serde::{Deserialize, Serialize};

/// What happens when an already-known item comes back with different Pin-relevant fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnChange {
    /// Record the change, make no new Pin (the default: Pins are not edited behind a user's back).
    #[default]
    Ignore,
    /// Queue a new Pin for every target.
    NewPin,
    /// Change the text of the Pins pinbridge made for the item (`PATCH /pins/{id}`); where
    /// the app may not use that operation, the route's fallback applies.
    Update,
}

/// A route's `update_fallback`: what an `on_change = "update"` does when the app may not use
/// Pinterest's Pin update (a beta operation "not available to all apps").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateFallback {
    /// Leave the Pin as it is (the default); the job's note says so.
    #[default]
    Ignore,
    /// Make a new Pin with the new text (the old one stays).
    NewPin,
}

/// A route's `on_delete`: what becomes of the Pins of an item deleted or unpublished at its
/// source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Keep them (the default: a Pin is not removed behind the user's back).
    #[default]
    Keep,
    /// Delete the Pins pinbridge made for the item.
    Delete,
}
