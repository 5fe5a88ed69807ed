//! The subcommands that move a store or prime it: `store copy` and `boards adopt`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Copy everything the configured store holds (items and their fingerprints, jobs and the
    /// Pins they made, the link index, adopted boards, source states, runtime config records)
    /// into another store, e.g. sled → PostgreSQL. Stop `pinbridge serve` first.
    Copy {
        /// The destination: a PostgreSQL URL (postgres://…), or a directory for a sled store.
        #[arg(long, env = "PINBRIDGE_COPY_TO")]
        to: String,
        /// Copy into a destination that already holds items (only what is missing is added).
        #[arg(long)]
        merge: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BoardsAction {
    /// Record the Pins already on a board, so items whose link is there are not pinned again
    /// (done by itself on a route's first contact with its board).
    Adopt {
        /// The `[[accounts]]` name.
        #[arg(long)]
        account: String,
        /// The board as the route names it (a name, or id:<digits>).
        #[arg(long)]
        board: String,
    },
}
