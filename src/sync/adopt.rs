//! Adoption: the Pins already on a board are recorded in the link index before pinbridge
//! first pins to it, so an item whose link is already there completes as a duplicate of that
//! Pin instead of being pinned twice (a user moving from Pinterest's RSS import, another
//! scheduler or hand pinning). Done once per account and board, on first contact (the engine)
//! or by `pinbridge boards adopt`; the store remembers that the board was adopted.
//!
//! The board is paged with bookmarks, one page per request; a rate limit or other API error
//! stops adoption before the board is marked adopted, so it is taken up again later (links
//! already recorded stay; recording them again changes nothing).

use crate::clock::Millis;
use crate::pinterest::{ApiError, PinterestClient};
use crate::store::{Store, StoreError};
use crate::sync::link_index::normalise_link;

/// What adopting a board found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Adoption {
    /// Pins read from the board.
    pub pins: usize,
    /// Links newly recorded as held by an adopted Pin.
    pub recorded: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Read every Pin of `board_id` and record their links under the target board `board` (as a
/// route names it) of `account`, then mark the board adopted.
pub async fn adopt_board(
    store: &dyn Store,
    client: &PinterestClient,
    account: &str,
    board: &str,
    board_id: &str,
    now: Millis,
) -> Result<Adoption, AdoptError> {
    let mut found = Adoption::default();
    let mut bookmark: Option<String> = None;
    loop {
        let page = client
            .board_pins_page(board_id, bookmark.as_deref())
            .await?;
        found.pins += page.items.len();
        let links: Vec<(String, String)> = page
            .items
            .iter()
            .filter_map(|pin| {
                let link = pin.link.as_deref().filter(|l| !l.trim().is_empty())?;
                Some((normalise_link(link), pin.id.clone()))
            })
            .collect();
        found.recorded += store
            .adopt_links(account, board, &links, false, now)
            .await?;
        match page.bookmark {
            // A repeated bookmark would loop; an empty page or no bookmark is the board's end.
            Some(next)
                if !next.is_empty()
                    && !page.items.is_empty()
                    && bookmark.as_ref() != Some(&next) =>
            {
                bookmark = Some(next)
            }
            _ => break,
        }
    }
    store.adopt_links(account, board, &[], true, now).await?;
    Ok(found)
}
