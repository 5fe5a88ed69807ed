//! Multi-tree transactions on either engine, in sled's shape: `(&a, &b).transaction(|(a, b)| …)`.
//!
//! The closure reads and writes through [`TransactionalTree`] views and returns `Ok` to commit,
//! or aborts with `ConflictableTransactionError::Abort` (nothing is written; the caller gets
//! `TransactionError::Abort`). sled may run the closure more than once (on a conflict), so it must
//! not act outside the views; fjall runs it once, holding the single-writer lock.

use super::fjall::{FjallTree, FjallTx, FjallWrites};
use super::{Error, Tree, Value};

/// A read or write inside a transaction failed (an engine error, or a sled conflict that makes
/// sled run the closure again).
#[derive(Debug)]
pub(crate) enum UnabortableTransactionError {
    Conflict,
    Storage(Error),
}

/// How a transaction's closure fails: its own abort, or what a read or write inside it met.
#[derive(Debug)]
pub(crate) enum ConflictableTransactionError<E> {
    Abort(E),
    Conflict,
    Storage(Error),
}

impl<E> From<UnabortableTransactionError> for ConflictableTransactionError<E> {
    fn from(e: UnabortableTransactionError) -> Self {
        match e {
            UnabortableTransactionError::Conflict => ConflictableTransactionError::Conflict,
            UnabortableTransactionError::Storage(e) => ConflictableTransactionError::Storage(e),
        }
    }
}

/// How a transaction ended without committing.
#[derive(Debug)]
pub(crate) enum TransactionError<E> {
    Abort(E),
    Storage(Error),
}

impl From<::sled::transaction::UnabortableTransactionError> for UnabortableTransactionError {
    fn from(e: ::sled::transaction::UnabortableTransactionError) -> Self {
        match e {
            ::sled::transaction::UnabortableTransactionError::Conflict => Self::Conflict,
            ::sled::transaction::UnabortableTransactionError::Storage(e) => {
                Self::Storage(Error::Sled(e))
            }
        }
    }
}

type TxResult<T> = Result<T, UnabortableTransactionError>;

/// One tree as seen inside a transaction.
#[derive(Clone, Copy)]
pub(crate) enum TransactionalTree<'a> {
    Sled(&'a ::sled::transaction::TransactionalTree),
    Fjall {
        tx: &'a dyn FjallWrites,
        tree: &'a FjallTree,
    },
}

impl TransactionalTree<'_> {
    pub(crate) fn get(&self, key: impl AsRef<[u8]>) -> TxResult<Option<Value>> {
        match self {
            Self::Sled(t) => Ok(t.get(key)?.map(Value::Sled)),
            Self::Fjall { tx, tree } => tx
                .get(tree, key.as_ref())
                .map(|v| v.map(Value::Fjall))
                .map_err(UnabortableTransactionError::Storage),
        }
    }

    pub(crate) fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> TxResult<()> {
        match self {
            Self::Sled(t) => t.insert(key.as_ref(), value.as_ref()).map(|_| ())?,
            Self::Fjall { tx, tree } => tx.insert(tree, key.as_ref(), value.as_ref()),
        }
        Ok(())
    }

    pub(crate) fn remove(&self, key: impl AsRef<[u8]>) -> TxResult<()> {
        match self {
            Self::Sled(t) => t.remove(key.as_ref()).map(|_| ())?,
            Self::Fjall { tx, tree } => tx.remove(tree, key.as_ref()),
        }
        Ok(())
    }

    /// A number never handed out before, taken with the transaction.
    pub(crate) fn generate_id(&self) -> TxResult<u64> {
        match self {
            Self::Sled(t) => t
                .generate_id()
                .map_err(|e| UnabortableTransactionError::Storage(Error::Sled(e))),
            Self::Fjall { tx, tree } => tx
                .generate_id(tree)
                .map_err(UnabortableTransactionError::Storage),
        }
    }
}

/// Trees that can be written together in one transaction.
pub(crate) trait Transactional {
    type View<'a>;

    fn transaction<F, A, E>(&self, f: F) -> Result<A, TransactionError<E>>
    where
        F: Fn(&Self::View<'_>) -> Result<A, ConflictableTransactionError<E>>;
}

/// Run `f` over views of `trees`, all of one database.
fn run<F, A, E>(trees: &[&Tree], f: F) -> Result<A, TransactionError<E>>
where
    F: Fn(&[TransactionalTree<'_>]) -> Result<A, ConflictableTransactionError<E>>,
{
    match trees.first() {
        Some(Tree::Sled(_)) => run_sled(trees, f),
        Some(Tree::Fjall(first)) => run_fjall(first, trees, f),
        None => unreachable!("a transaction names at least one tree"),
    }
}

fn run_sled<F, A, E>(trees: &[&Tree], f: F) -> Result<A, TransactionError<E>>
where
    F: Fn(&[TransactionalTree<'_>]) -> Result<A, ConflictableTransactionError<E>>,
{
    use ::sled::Transactional as _;
    use ::sled::transaction as sled_tx;

    let sled_trees: Vec<&::sled::Tree> = trees
        .iter()
        .map(|tree| match tree {
            Tree::Sled(t) => t,
            Tree::Fjall(_) => unreachable!("one store's trees are all of one engine"),
        })
        .collect();
    let result = sled_trees.as_slice().transaction(|views| {
        let views: Vec<TransactionalTree<'_>> = views.iter().map(TransactionalTree::Sled).collect();
        f(&views).map_err(|e| match e {
            ConflictableTransactionError::Abort(e) => {
                sled_tx::ConflictableTransactionError::Abort(e)
            }
            ConflictableTransactionError::Conflict => {
                sled_tx::ConflictableTransactionError::Conflict
            }
            ConflictableTransactionError::Storage(e) => {
                sled_tx::ConflictableTransactionError::Storage(into_sled(e))
            }
        })
    });
    result.map_err(|e| match e {
        sled_tx::TransactionError::Abort(e) => TransactionError::Abort(e),
        sled_tx::TransactionError::Storage(e) => TransactionError::Storage(Error::Sled(e)),
    })
}

/// A storage error met inside a sled transaction is sled's own; the other arm cannot happen.
fn into_sled(e: Error) -> ::sled::Error {
    match e {
        Error::Sled(e) => e,
        Error::Fjall(e) => ::sled::Error::Unsupported(e.to_string()),
    }
}

fn run_fjall<F, A, E>(first: &FjallTree, trees: &[&Tree], f: F) -> Result<A, TransactionError<E>>
where
    F: Fn(&[TransactionalTree<'_>]) -> Result<A, ConflictableTransactionError<E>>,
{
    // One writer at a time: the closure sees every earlier commit and nothing can interleave,
    // so a conflict cannot happen; a closure that reports one anyway simply runs again.
    loop {
        let tx = FjallTx::begin(first.db());
        let outcome = {
            let views: Vec<TransactionalTree<'_>> = trees
                .iter()
                .map(|tree| match tree {
                    Tree::Fjall(tree) => TransactionalTree::Fjall { tx: &tx, tree },
                    Tree::Sled(_) => unreachable!("one store's trees are all of one engine"),
                })
                .collect();
            f(&views)
        };
        return match outcome {
            Ok(value) => {
                tx.commit().map_err(TransactionError::Storage)?;
                Ok(value)
            }
            Err(ConflictableTransactionError::Conflict) => {
                tx.rollback();
                continue;
            }
            Err(ConflictableTransactionError::Abort(e)) => {
                tx.rollback();
                Err(TransactionError::Abort(e))
            }
            Err(ConflictableTransactionError::Storage(e)) => {
                tx.rollback();
                Err(TransactionError::Storage(e))
            }
        };
    }
}

impl Transactional for Tree {
    type View<'a> = TransactionalTree<'a>;

    fn transaction<F, A, E>(&self, f: F) -> Result<A, TransactionError<E>>
    where
        F: Fn(&Self::View<'_>) -> Result<A, ConflictableTransactionError<E>>,
    {
        run(&[self], |views| f(&views[0]))
    }
}

macro_rules! tuple_transactional {
    ($($name:ident: $index:tt),+) => {
        impl Transactional for ($(tuple_transactional!(@tree $name),)+) {
            type View<'a> = ($(tuple_transactional!(@view $name, 'a),)+);

            fn transaction<F, A, E>(&self, f: F) -> Result<A, TransactionError<E>>
            where
                F: Fn(&Self::View<'_>) -> Result<A, ConflictableTransactionError<E>>,
            {
                run(&[$(self.$index),+], |views| f(&($(views[$index],)+)))
            }
        }
    };
    (@view $name:ident, $lt:lifetime) => { TransactionalTree<$lt> };
    (@tree $name:ident) => { &Tree };
}

tuple_transactional!(a: 0, b: 1);
tuple_transactional!(a: 0, b: 1, c: 2);
tuple_transactional!(a: 0, b: 1, c: 2, d: 3);
tuple_transactional!(a: 0, b: 1, c: 2, d: 3, e: 4);
tuple_transactional!(a: 0, b: 1, c: 2, d: 3, e: 4, f: 5);
tuple_transactional!(a: 0, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6);
