//! The host side of the `tables` interface (OTP's ETS): the `table` resource a guest
//! holds, each operation checked against the caller's id.

use std::sync::Arc;

use wasmtime::component::Resource;

use foundation_wire::bulk;

use crate::id::ActorId;
use crate::sandbox::limit_hit;
use crate::tables::durable;
use crate::tables::table::{Durability, Table, TableAccess, TableHandle, TableKind, TableOptions};
use crate::wasm::bindings::foundation::actor::tables as wt;
use crate::wasm::host::convert::page;
use crate::wasm::store::ActorData;

impl ActorData {
    fn handle(&mut self, table: &Resource<TableHandle>) -> Result<Arc<Table>, wt::TableError> {
        self.table
            .get(table)
            .map(|h| h.0.clone())
            .map_err(|_| wt::TableError::Invalid("unknown table handle".into()))
    }

    fn open(&mut self, table: Arc<Table>) -> Result<Resource<TableHandle>, wt::TableError> {
        self.table
            .push(TableHandle(table))
            .map_err(|e| wt::TableError::Invalid(format!("cannot hold another table handle: {e}")))
    }
}

impl wt::Host for ActorData {}

impl wt::HostTable for ActorData {
    async fn create(
        &mut self,
        options: wt::TableOptions,
    ) -> Result<Resource<TableHandle>, wt::TableError> {
        let heir = match options.heir {
            Some((id, data)) => Some((ActorId::from_raw(id).ok_or(wt::TableError::Noproc)?, data)),
            None => None,
        };
        let options = TableOptions {
            name: options.name,
            kind: match options.kind {
                wt::TableKind::Set => TableKind::Set,
                wt::TableKind::OrderedSet => TableKind::OrderedSet,
                wt::TableKind::Bag => TableKind::Bag,
                wt::TableKind::DuplicateBag => TableKind::DuplicateBag,
            },
            access: match options.access {
                wt::TableAccess::Protected => TableAccess::Protected,
                wt::TableAccess::Private => TableAccess::Private,
                wt::TableAccess::Public => TableAccess::Public,
            },
            heir,
            max_entries: options.max_entries,
            max_bytes: options.max_bytes,
            durable: options.durable,
        };
        // Only this actor creates tables it owns, so the count cannot race.
        let max = self.quotas.max_tables;
        if self.node.tables.owned_count(self.me()) >= max {
            return Err(wt::TableError::QuotaExceeded(limit_hit(
                &self.node.hits.tables,
                &self.cell.label,
                "max_tables",
                max,
                format!("max_tables: this actor already owns {max} tables, its limit"),
            )));
        }
        options.check_durable()?;
        // Held until the table is registered (see below).
        let mut turn = None;
        let durable = match &options.name {
            Some(name) if options.durable => {
                let store = self.node.stores.tables().cloned().ok_or_else(|| {
                    wt::TableError::Invalid(
                        "durable tables need the runtime's table store: name one with \
                         `[storage] tables = \"STORE\"` (or RuntimeBuilder::table_store)"
                            .into(),
                    )
                })?;
                // Wait for the writes of an earlier table of this name, and keep
                // later ones out until this one holds its rows.
                let gate = store.gate(name);
                turn = Some(gate.clone().lock_owned().await);
                let rows = durable::load(&store, name).await?;
                Some((Durability { store, gate }, rows))
            }
            _ => None,
        };
        let table = self.node.tables.create(
            self.me(),
            options,
            self.node.settings.max_message_size,
            &self.node.registry,
            durable,
        )?;
        // Its rows are in and it is registered: writes of the name may go on.
        drop(turn);
        self.open(table)
    }

    fn open(&mut self, name: String) -> Result<Resource<TableHandle>, wt::TableError> {
        let table = self.node.tables.by_name(&name)?;
        ActorData::open(self, table)
    }

    fn open_id(&mut self, id: u64) -> Result<Resource<TableHandle>, wt::TableError> {
        let table = self.node.tables.by_id(id)?;
        ActorData::open(self, table)
    }

    fn id(&mut self, table: Resource<TableHandle>) -> u64 {
        self.handle(&table).map_or(0, |t| t.id)
    }

    async fn insert(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        durable::write(&t, || vec![key.clone()], || t.insert(me, &key, &value))
            .await
            .map_err(Into::into)
    }

    async fn insert_new(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        durable::write(&t, || vec![key.clone()], || t.insert_new(me, &key, &value))
            .await
            .map_err(Into::into)
    }

    fn lookup(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, wt::TableError> {
        Ok(self.handle(&table)?.lookup(self.me(), &key)?)
    }

    fn get_many(
        &mut self,
        table: Resource<TableHandle>,
        keys: Vec<u8>,
    ) -> Result<Vec<u8>, wt::TableError> {
        let max = self.node.settings.max_message_size;
        Ok(self.handle(&table)?.get_many(self.me(), &keys, max)?)
    }

    async fn insert_many(
        &mut self,
        table: Resource<TableHandle>,
        entries: Vec<u8>,
    ) -> Result<u64, wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        // The keys a malformed frame names do not matter: the write refuses it.
        let keys = || {
            bulk::split::<2>(&entries)
                .map_while(Result::ok)
                .map(|e| e[0].to_vec())
                .collect()
        };
        durable::write(&t, keys, || t.insert_many(me, &entries))
            .await
            .map_err(Into::into)
    }

    fn lookup_many(
        &mut self,
        table: Resource<TableHandle>,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<Vec<u8>>>, wt::TableError> {
        let t = self.handle(&table)?;
        let me = self.me();
        keys.iter()
            .map(|k| t.lookup(me, k).map_err(Into::into))
            .collect()
    }

    fn get(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, wt::TableError> {
        Ok(self.handle(&table)?.get(self.me(), &key)?)
    }

    fn member(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        Ok(self.handle(&table)?.member(self.me(), &key)?)
    }

    async fn delete(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        durable::write(&t, || vec![key.clone()], || t.delete(me, &key))
            .await
            .map_err(Into::into)
    }

    async fn delete_object(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        durable::write(
            &t,
            || vec![key.clone()],
            || t.delete_object(me, &key, &value),
        )
        .await
        .map_err(Into::into)
    }

    async fn take(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        durable::write(&t, || vec![key.clone()], || t.take(me, &key))
            .await
            .map_err(Into::into)
    }

    async fn update_counter(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        incr: i64,
        default: Option<i64>,
    ) -> Result<i64, wt::TableError> {
        let (t, me) = (self.handle(&table)?, self.me());
        durable::write(
            &t,
            || vec![key.clone()],
            || t.update_counter(me, &key, incr, default),
        )
        .await
        .map_err(Into::into)
    }

    fn size(&mut self, table: Resource<TableHandle>) -> Result<u64, wt::TableError> {
        Ok(self.handle(&table)?.size(self.me())?)
    }

    fn range(
        &mut self,
        table: Resource<TableHandle>,
        from: Option<Vec<u8>>,
        to: Option<Vec<u8>>,
        limit: u32,
    ) -> Result<wt::Page, wt::TableError> {
        let t = self.handle(&table)?;
        Ok(page(t.range(
            self.me(),
            from.as_deref(),
            to.as_deref(),
            limit,
        )?))
    }

    fn prefix(
        &mut self,
        table: Resource<TableHandle>,
        prefix: Vec<u8>,
        from: Option<Vec<u8>>,
        limit: u32,
    ) -> Result<wt::Page, wt::TableError> {
        let t = self.handle(&table)?;
        Ok(page(t.prefix(
            self.me(),
            &prefix,
            from.as_deref(),
            limit,
        )?))
    }

    fn set_heir(
        &mut self,
        table: Resource<TableHandle>,
        heir: Option<(u64, Vec<u8>)>,
    ) -> Result<(), wt::TableError> {
        let t = self.handle(&table)?;
        Ok(self
            .node
            .tables
            .set_heir(self.me(), &t, heir, &self.node.registry)?)
    }

    fn give_away(
        &mut self,
        table: Resource<TableHandle>,
        to: u64,
        data: Vec<u8>,
    ) -> Result<(), wt::TableError> {
        let t = self.handle(&table)?;
        Ok(self
            .node
            .tables
            .give_away(self.me(), &t, to, data, &self.node.registry)?)
    }

    fn delete_table(&mut self, table: Resource<TableHandle>) -> Result<(), wt::TableError> {
        let t = self.handle(&table)?;
        Ok(self.node.tables.delete_table(self.me(), &t)?)
    }

    fn drop(&mut self, table: Resource<TableHandle>) -> wasmtime::Result<()> {
        self.table.delete(table)?;
        Ok(())
    }
}
