//! Durable tables: a table whose every change also reaches the runtime's table store
//! before the write returns, and which starts with the rows stored under its name
//! (OTP's Mnesia `disc_copies`: a memory copy for reads, a disk copy for restarts).
//!
//! Writes of one durable table pass one at a time through its gate (an async lock,
//! so a writer waiting for the store blocks only itself): under it, a write is applied
//! to memory, the new values of the keys it touched go to the store, and if the store
//! fails the old values are put back and the write fails. The order of writes in the
//! store is their order in memory.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::store::{Rows, StoreError, TableStore};
use crate::tables::table::{Table, TableError};

/// Runs the write `op` on `table`, which touches at most the keys `keys`: at once on
/// a memory table; on a durable one under its gate, its effect in the store before
/// this returns. If the store refuses, the keys get their old values back and the
/// write fails with `storage`; if the store cannot say whether it committed, the keys
/// get the values the store holds. An `op` that fails after writing part of its keys
/// (`insert-many` stopped by a quota) has that part stored like any write.
///
/// The store write and its repair run in a task of their own that holds the gate, so
/// a caller cancelled meanwhile (a handler past its deadline) leaves memory and store
/// in step, and the next write waits for them.
pub(crate) async fn write<R>(
    table: &Arc<Table>,
    keys: impl FnOnce() -> Vec<Vec<u8>>,
    op: impl FnOnce() -> Result<R, TableError>,
) -> Result<R, TableError> {
    let Some(durable) = table.durability() else {
        return op();
    };
    let name = table
        .name()
        .expect("a durable table has a name")
        .to_string();
    let keys = keys();
    let turn = durable.gate.clone().lock_owned().await;
    let before = table.values_of(&keys);
    let result = op();
    let after = table.values_of(&keys);
    let mut puts = Vec::new();
    let mut deletes = Vec::new();
    for ((key, old), new) in keys.iter().zip(&before).zip(after) {
        if *old == new {
            continue;
        }
        match new {
            Some(value) => puts.push((key.clone(), value)),
            None => deletes.push(key.clone()),
        }
    }
    if puts.is_empty() && deletes.is_empty() {
        return result;
    }
    let (tx, rx) = oneshot::channel();
    let (table, store) = (table.clone(), durable.store.clone());
    tokio::spawn(async move {
        let _turn = turn;
        let label = table.label();
        let verdict = match store.write(&name, puts, deletes).await {
            Ok(()) => Ok(()),
            Err(StoreError::OutcomeUnknown(why)) => match store.read(&name, keys.clone()).await {
                // What the store holds is the truth: the table takes it.
                Ok(stored) => {
                    table.restore(keys.iter().zip(stored));
                    Err(format!(
                        "{label}: the store {:?} could not say whether the write was \
                         committed ({why}); the table now holds what the store holds",
                        store.store()
                    ))
                }
                Err(e) => {
                    tracing::error!(table = %label, store = store.store(), error = %e,
                        "a durable write's outcome is unknown and the store cannot be read; \
                         the table may differ from the store until it is created again");
                    Err(format!(
                        "{label}: the write's outcome in store {:?} is unknown ({why}), and \
                         reading it back failed: {e}",
                        store.store()
                    ))
                }
            },
            Err(e) => {
                table.restore(keys.iter().zip(before));
                tracing::warn!(table = %label, store = store.store(), error = %e,
                    "a durable table write did not reach its store; it was undone");
                Err(format!(
                    "{label} could not write to store {:?}; nothing changed: {e}",
                    store.store()
                ))
            }
        };
        let _ = tx.send(verdict);
    });
    match rx.await {
        Ok(Ok(())) => result,
        Ok(Err(why)) => Err(TableError::Storage(why)),
        Err(_) => Err(TableError::Storage(
            "the durable write's task ended without an answer (the runtime is stopping)".into(),
        )),
    }
}

/// The rows of the durable table `name`, to create it with.
pub(crate) async fn load(store: &TableStore, name: &str) -> Result<Rows, TableError> {
    store.load(name).await.map_err(|e| {
        TableError::Storage(format!(
            "the rows of durable table {name:?} could not be read from store {:?}: {e}",
            store.store()
        ))
    })
}
