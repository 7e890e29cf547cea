//! Durable tables: a table whose every change also reaches the runtime's table store
//! before the write returns, and which starts with the rows stored under its name
//! (OTP's Mnesia `disc_copies`: a memory copy for reads, a disk copy for restarts).
//!
//! Writes of one durable table pass one at a time through its gate (an async lock,
//! so a writer waiting for the store blocks only itself): under it, a write is applied
//! to memory, the new values of the keys it touched go to the store, and if the store
//! fails the old values are put back and the write fails. The order of writes in the
//! store is their order in memory.

use crate::store::{Rows, TableStore};
use crate::tables::table::{Table, TableError};

/// Runs the write `op` on `table`, which touches at most the keys `keys`: at once on
/// a memory table; on a durable one through its gate, its effect in the store before
/// this returns. If the store fails, the keys get their old values back and the write
/// fails with `storage`.
pub(crate) async fn write<R>(
    table: &Table,
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
    let _turn = durable.gate.lock().await;
    let before = table.values_of(&keys);
    let result = op()?;
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
        return Ok(result);
    }
    if let Err(e) = durable.store.write(&name, puts, deletes).await {
        table.restore(keys.iter().zip(before));
        tracing::warn!(table = %table.label(), store = durable.store.store(), error = %e,
            "a durable table write did not reach its store; it was undone");
        return Err(TableError::Storage(format!(
            "{} could not write to store {:?}; nothing changed: {e}",
            table.label(),
            durable.store.store()
        )));
    }
    Ok(result)
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
