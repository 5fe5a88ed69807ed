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
}
