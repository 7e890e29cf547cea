//! Which tables exist and who owns them: tables by id and by name, each owner's
//! tables, and what happens to them when their owner exits (OTP's ETS `heir` and
//! `give_away`: a table passes to its living heir, else it is deleted).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::id::ActorId;
use crate::process::mailbox::{Signal, SignalTx};
use crate::process::registry::{Registry, validate_name};
use crate::store::Rows;
use crate::tables::table::{Durability, Table, TableError, TableOptions};

/// Every live table, by id and by name, and which actor owns which.
pub(crate) struct Tables {
    by_id: papaya::HashMap<u64, Arc<Table>>,
    meta: Mutex<Meta>,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Meta {
    names: HashMap<String, u64>,
    owned: HashMap<u64, Vec<u64>>,
}

impl Default for Tables {
    fn default() -> Self {
        Tables {
            by_id: papaya::HashMap::new(),
            meta: Mutex::new(Meta::default()),
            next_id: AtomicU64::new(1),
        }
    }
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tables({} live)", self.by_id.len())
    }
}

impl Tables {
    /// Creates a table owned by `owner` (an actor id, or [`HOST`]).
    pub(crate) fn create(
        &self,
        owner: u64,
        options: TableOptions,
        max_item: usize,
        registry: &Registry,
        durable: Option<(Durability, Rows)>,
    ) -> Result<Arc<Table>, TableError> {
        if let Some(name) = &options.name {
            validate_name(name)
                .map_err(|e| TableError::Invalid(format!("table name {name:?}: {e}")))?;
        }
        if let Some((heir, _)) = &options.heir
            && registry.get(*heir).is_none()
        {
            return Err(TableError::Noproc);
        }
        options.check_durable()?;
        let (durable, rows) = match durable {
            Some((durable, rows)) => (Some(durable), rows),
            None if options.durable => {
                return Err(TableError::Invalid(
                    "a durable table is created by an actor, with the runtime's table store \
                     ([storage] tables, or RuntimeBuilder::table_store)"
                        .into(),
                ));
            }
            None => (None, Vec::new()),
        };
        let table = Arc::new(Table::new(
            self.next_id.fetch_add(1, Ordering::Relaxed),
            &options,
            owner,
            max_item,
            durable,
        ));
        // Its stored rows are in before anyone can open it.
        table.load_rows(rows)?;
        let mut meta = self.meta.lock().unwrap();
        if let Some(name) = &options.name {
            if meta.names.contains_key(name) {
                return Err(TableError::NameTaken(name.clone()));
            }
            meta.names.insert(name.clone(), table.id);
        }
        meta.owned.entry(owner).or_default().push(table.id);
        self.by_id.pin().insert(table.id, table.clone());
        Ok(table)
    }

    /// How many tables `owner` owns.
    pub(crate) fn owned_count(&self, owner: u64) -> usize {
        self.meta
            .lock()
            .unwrap()
            .owned
            .get(&owner)
            .map_or(0, Vec::len)
    }

    pub(crate) fn by_id(&self, id: u64) -> Result<Arc<Table>, TableError> {
        self.by_id
            .pin()
            .get(&id)
            .cloned()
            .ok_or(TableError::NoTable)
    }

    pub(crate) fn by_name(&self, name: &str) -> Result<Arc<Table>, TableError> {
        let id = self
            .meta
            .lock()
            .unwrap()
            .names
            .get(name)
            .copied()
            .ok_or_else(|| TableError::UnknownName(name.to_string()))?;
        self.by_id(id)
            .map_err(|_| TableError::UnknownName(name.to_string()))
    }

    /// Deletes `table`: every handle answers `no-table` from now on.
    fn remove(&self, meta: &mut Meta, table: &Table) {
        table.mark_deleted();
        self.by_id.pin().remove(&table.id);
        if let Some(name) = table.name() {
            meta.names.remove(name);
        }
        let owner = table.owner();
        if let Some(ids) = meta.owned.get_mut(&owner) {
            ids.retain(|i| *i != table.id);
            if ids.is_empty() {
                meta.owned.remove(&owner);
            }
        }
    }

    pub(crate) fn delete_table(&self, caller: u64, table: &Table) -> Result<(), TableError> {
        table.check_owner(caller, "delete")?;
        let mut meta = self.meta.lock().unwrap();
        self.remove(&mut meta, table);
        Ok(())
    }

    pub(crate) fn set_heir(
        &self,
        caller: u64,
        table: &Table,
        heir: Option<(u64, Vec<u8>)>,
        registry: &Registry,
    ) -> Result<(), TableError> {
        table.check_owner(caller, "set the heir of")?;
        if let Some((h, _)) = &heir
            && ActorId::from_raw(*h)
                .and_then(|id| registry.get(id))
                .is_none()
        {
            return Err(TableError::Noproc);
        }
        table.set_heir(heir);
        Ok(())
    }

    /// Makes `to` the owner of `table` and tells it.
    pub(crate) fn give_away(
        &self,
        caller: u64,
        table: &Table,
        to: u64,
        data: Vec<u8>,
        registry: &Registry,
    ) -> Result<(), TableError> {
        table.check_owner(caller, "give away")?;
        let target = ActorId::from_raw(to)
            .and_then(|id| registry.get(id))
            .ok_or(TableError::Noproc)?;
        let mut meta = self.meta.lock().unwrap();
        self.transfer(&mut meta, table, caller, to, data, &target.mailbox.signals);
        Ok(())
    }

    fn transfer(
        &self,
        meta: &mut Meta,
        table: &Table,
        from: u64,
        to: u64,
        data: Vec<u8>,
        signals: &SignalTx,
    ) {
        table.set_owner(to);
        if let Some(ids) = meta.owned.get_mut(&from) {
            ids.retain(|i| *i != table.id);
            if ids.is_empty() {
                meta.owned.remove(&from);
            }
        }
        meta.owned.entry(to).or_default().push(table.id);
        let _ = signals.send(Signal::TableTransfer {
            table: table.id,
            from,
            data,
        });
    }

    /// The owner stopped: each of its tables goes to its living heir, or is deleted.
    pub(crate) fn owner_exited(&self, owner: u64, registry: &Registry) {
        let mut meta = self.meta.lock().unwrap();
        let Some(ids) = meta.owned.remove(&owner) else {
            return;
        };
        for id in ids {
            let Ok(table) = self.by_id(id) else { continue };
            let heir = table.take_heir();
            let heir_cell = heir.as_ref().and_then(|(h, _)| {
                ActorId::from_raw(*h)
                    .filter(|_| *h != owner)
                    .and_then(|id| registry.get(id))
            });
            match (heir, heir_cell) {
                (Some((h, data)), Some(cell)) => {
                    // `owned` no longer lists the old owner; re-add it so that
                    // `transfer` moves the entry.
                    meta.owned.entry(owner).or_default().push(id);
                    self.transfer(&mut meta, &table, owner, h, data, &cell.mailbox.signals);
                }
                _ => {
                    meta.owned.entry(owner).or_default().push(id);
                    self.remove(&mut meta, &table);
                }
            }
        }
        meta.owned.remove(&owner);
    }
}
