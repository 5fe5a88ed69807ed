//! After an ambiguous create (timeout, reset, 5xx after the request was sent), look for the Pin
//! on the board before making a second one. Pinterest has no idempotency key, so the board's
//! newest Pins are the only record of whether the create happened.

use super::template::PinText;
use crate::pinterest::model::Pin;
use crate::pinterest::{ApiError, PinterestClient};

/// The id of a Pin among the board's newest `depth` that matches what we would create.
pub async fn find_existing_pin(
    client: &PinterestClient,
    board_id: &str,
    text: &PinText,
    depth: usize,
) -> Result<Option<String>, ApiError> {
    let pins = client.board_pins(board_id, depth).await?;
    Ok(pins.into_iter().find(|p| same_pin(p, text)).map(|p| p.id))
}

/// Same link and same title, as far as we set them. With neither, the description decides.
fn same_pin(pin: &Pin, text: &PinText) -> bool {
    let eq = |ours: &Option<String>, theirs: &Option<String>| {
        ours.as_deref().map(str::trim) == theirs.as_deref().map(str::trim)
    };
    if text.link.is_none() && text.title.is_none() {
        return text.description.is_some() && eq(&text.description, &pin.description);
    }
    eq(&text.link, &pin.link) && eq(&text.title, &pin.title)
}
