//! Boards and sections by name: resolved to ids through the API once, cached, and created when
//! a route says `create_missing = true` (with the route's privacy and description). A board
//! that is not found while the token cannot see secret boards is never created: it may be a
//! secret board of that name, and creating a public twin would send Pins to the wrong board.

use std::collections::{HashMap, HashSet};

use tokio::sync::{Mutex, MutexGuard};

use crate::pinterest::{ApiError, PinterestClient};
use crate::sync::scopes::{READ_SECRET_BOARDS, grants};

/// Why a board or section could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "board `{0}` does not exist on this account; create it or set create_missing = true on the route"
    )]
    NoBoard(String),
    #[error(
        "section `{section}` does not exist on board `{board}`; create it or set create_missing = true on the route"
    )]
    NoSection { board: String, section: String },
    #[error(
        "board `{board}` not found; it may be secret and the token cannot see secret boards: reconnect with `pinbridge auth --account {account}` to grant boards:read_secret, or name the board by id"
    )]
    MaybeSecret { board: String, account: String },
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// A board reference as stored on a job target: `id:<digits>` or a name.
pub fn parse_board_ref(board: &str) -> BoardRef<'_> {
    match board.strip_prefix("id:") {
        Some(id) => BoardRef::Id(id),
        None => BoardRef::Name(board),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum BoardRef<'a> {
    Id(&'a str),
    Name(&'a str),
}

/// How to make a board that a route names but the account does not have.
#[derive(Clone, Copy, Debug, Default)]
pub struct BoardCreation<'a> {
    /// The route says `create_missing = true`.
    pub allowed: bool,
    /// `PUBLIC`, `PROTECTED` or `SECRET`; `None` for Pinterest's default.
    pub privacy: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl BoardCreation<'_> {
    /// Create with Pinterest's defaults when `allowed`.
    pub fn plain(allowed: bool) -> Self {
        BoardCreation {
            allowed,
            ..BoardCreation::default()
        }
    }
}

/// One account's board and section names → ids.
#[derive(Default)]
pub struct BoardDirectory {
    /// Lower-cased board name → id. `None` until first listed.
    boards: Mutex<Option<HashMap<String, String>>>,
    /// Board id → lower-cased section name → id.
    sections: Mutex<HashMap<String, HashMap<String, String>>>,
    /// Target boards (as routes name them) known to be adopted (`sync::adopt`), so the store
    /// is asked once per board and process.
    adopted: Mutex<HashSet<String>>,
}

impl BoardDirectory {
    /// The id of the board `board` (a target's board string).
    pub async fn board_id(
        &self,
        client: &PinterestClient,
        board: &str,
        create_missing: bool,
    ) -> Result<String, ResolveError> {
        self.board_id_or_create(client, board, BoardCreation::plain(create_missing), "")
            .await
    }

    /// The id of the board `board`, created as `creation` says when missing. `account` names
    /// the account in the problem a possibly secret board raises.
    pub async fn board_id_or_create(
        &self,
        client: &PinterestClient,
        board: &str,
        creation: BoardCreation<'_>,
        account: &str,
    ) -> Result<String, ResolveError> {
        let name = match parse_board_ref(board) {
            BoardRef::Id(id) => return Ok(id.to_string()),
            BoardRef::Name(name) => name,
        };
        let key = name.trim().to_lowercase();
        // One lock across list and create, so two workers do not create the same board twice.
        let mut boards = self.boards.lock().await;
        if let Some(id) = boards.as_ref().and_then(|b| b.get(&key)) {
            return Ok(id.clone());
        }
        let listed = client.list_boards().await?;
        let map: HashMap<String, String> = listed
            .into_iter()
            .map(|b| (b.name.trim().to_lowercase(), b.id))
            .collect();
        let found = map.get(&key).cloned();
        *boards = Some(map);
        if let Some(id) = found {
            return Ok(id);
        }
        if !creation.allowed {
            return Err(ResolveError::NoBoard(name.to_string()));
        }
        // The token's scopes are known once it was granted or refreshed; a token from the
        // config alone does not say, and then pinbridge creates as it always did.
        let granted = client.tokens().tokens().await.scope;
        if granted.is_some_and(|g| !grants(&g, READ_SECRET_BOARDS)) {
            return Err(ResolveError::MaybeSecret {
                board: name.to_string(),
                account: account.to_string(),
            });
        }
        let created = client
            .create_board_with_privacy(name.trim(), creation.description, creation.privacy)
            .await;
        let id = match created {
            Ok(created) => {
                tracing::info!(board = %name, board_id = %created.id, "Created missing board.");
                created.id
            }
            // Another replica (or a process before a restart) made it between our list and
            // our create: board names are unique per account, so use that board.
            Err(e) if is_conflict(&e) => {
                let listed = client.list_boards().await?;
                let found = listed
                    .into_iter()
                    .find(|b| b.name.trim().to_lowercase() == key)
                    .ok_or(e)?;
                tracing::info!(board = %name, board_id = %found.id, "The missing board was created elsewhere meanwhile; using it.");
                found.id
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(map) = boards.as_mut() {
            map.insert(key, id.clone());
        }
        Ok(id)
    }

    /// The id of section `section` (a name, or `id:<digits>`) on board `board_id`.
    pub async fn section_id(
        &self,
        client: &PinterestClient,
        board_id: &str,
        board_label: &str,
        section: &str,
        create_missing: bool,
    ) -> Result<String, ResolveError> {
        let name = match parse_board_ref(section) {
            BoardRef::Id(id) => return Ok(id.to_string()),
            BoardRef::Name(name) => name,
        };
        let key = name.trim().to_lowercase();
        let mut sections = self.sections.lock().await;
        if let Some(id) = sections.get(board_id).and_then(|s| s.get(&key)) {
            return Ok(id.clone());
        }
        let listed: HashMap<String, String> = client
            .list_sections(board_id)
            .await?
            .into_iter()
            .map(|s| (s.name.trim().to_lowercase(), s.id))
            .collect();
        let found = listed.get(&key).cloned();
        sections.insert(board_id.to_string(), listed);
        if let Some(id) = found {
            return Ok(id);
        }
        if !create_missing {
            return Err(ResolveError::NoSection {
                board: board_label.to_string(),
                section: name.to_string(),
            });
        }
        let id = match client.create_section(board_id, name.trim()).await {
            Ok(created) => {
                tracing::info!(section = %name, section_id = %created.id, "Created missing section.");
                created.id
            }
            // Made elsewhere meanwhile (section names are unique per board): use it.
            Err(e) if is_conflict(&e) => {
                client
                    .list_sections(board_id)
                    .await?
                    .into_iter()
                    .find(|s| s.name.trim().to_lowercase() == key)
                    .ok_or(e)?
                    .id
            }
            Err(e) => return Err(e.into()),
        };
        sections
            .entry(board_id.to_string())
            .or_default()
            .insert(key, id.clone());
        Ok(id)
    }

    /// The boards known to be adopted, locked: one adoption at a time per account, so two
    /// workers meeting a new board do not both page it.
    pub async fn adopted(&self) -> MutexGuard<'_, HashSet<String>> {
        self.adopted.lock().await
    }

    /// Forget what is cached (a board was deleted behind our back).
    pub async fn invalidate(&self) {
        *self.boards.lock().await = None;
        self.sections.lock().await.clear();
    }
}

/// Pinterest refused a create because the name is taken (409).
fn is_conflict(error: &ApiError) -> bool {
    matches!(error, ApiError::Rejected { status: 409, .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_refs_by_id_or_name() {
        assert_eq!(parse_board_ref("id:123"), BoardRef::Id("123"));
        assert_eq!(parse_board_ref("Recipes"), BoardRef::Name("Recipes"));
    }
}
