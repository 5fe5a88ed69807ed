//! Why a store call failed: the one error type every backend returns.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} could not be opened: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "the store was written by a newer pinbridge (schema {found}, this build reads up to {supported}); upgrade pinbridge"
    )]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("store I/O failed: {0}")]
    Io(String),
    #[error("no {what} with id {id}")]
    NotFound { what: &'static str, id: String },
    #[error("the store is shutting down")]
    Closed,
    /// A flush to disk failed: writes since the last good flush may be lost, and no later
    /// flush can prove otherwise, so the store takes no more writes until restarted.
    #[error(
        "the store refuses writes until pinbridge is restarted: {0}; check the disk (space, errors in the system log), then restart"
    )]
    Poisoned(String),
}

pub type StoreResult<T> = Result<T, StoreError>;
