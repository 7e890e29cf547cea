//! `TableRef`: a table from Rust code, which acts as the host (owner id 0).

use std::sync::Arc;

use crate::codec;
use crate::id::{ActorId, HOST};
use crate::node::Node;
use crate::tables::table::{Page, Table, TableError};

/// A table, from Rust: the embedding application acts as the actor with id 0 (the
/// host). Values are any serde type, encoded as MessagePack like messages; keys are
/// bytes (see the SDK's `Key` for encodings that keep natural order).
///
/// ```
/// # #[tokio::main] async fn main() -> anyhow::Result<()> {
/// use foundation::{TableKind, TableOptions};
/// let runtime = foundation::Runtime::builder().build()?;
/// let prices = runtime.create_table(TableOptions {
///     name: Some("prices".into()),
///     kind: TableKind::OrderedSet,
///     ..TableOptions::default()
/// })?;
/// prices.insert(b"EURUSD", &1.09f64)?;
/// assert_eq!(prices.get::<f64>(b"EURUSD")?, Some(1.09));
/// assert_eq!(prices.update_counter(b"ticks", 1, Some(0))?, 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TableRef {
    pub(crate) table: Arc<Table>,
    pub(crate) node: Arc<Node>,
}

impl std::fmt::Debug for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TableRef({})", self.table.label())
    }
}

fn encode<V: serde::Serialize + ?Sized>(v: &V) -> Result<Vec<u8>, TableError> {
    codec::encode(v).map_err(|e| TableError::Invalid(format!("the value does not encode: {e}")))
}

fn decode<V: serde::de::DeserializeOwned>(b: &[u8]) -> Result<V, TableError> {
    codec::decode(b).map_err(|e| TableError::Invalid(format!("the value does not decode: {e}")))
}

impl TableRef {
    /// The table's id.
    pub fn id(&self) -> u64 {
        self.table.id
    }
    /// Writes `value` under `key`.
    pub fn insert<V: serde::Serialize + ?Sized>(
        &self,
        key: &[u8],
        value: &V,
    ) -> Result<(), TableError> {
        self.table.insert(HOST, key, &encode(value)?)
    }
    /// Writes encoded bytes under `key`.
    pub fn insert_raw(&self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        self.table.insert(HOST, key, value)
    }
    /// Writes only if `key` has no value; returns whether it wrote.
    pub fn insert_new<V: serde::Serialize + ?Sized>(
        &self,
        key: &[u8],
        value: &V,
    ) -> Result<bool, TableError> {
        self.table.insert_new(HOST, key, &encode(value)?)
    }
    /// The value under `key` of a set (the first one of a bag).
    pub fn get<V: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<V>, TableError> {
        match self.table.lookup_shared(HOST, key)? {
            Some(vs) => Ok(Some(decode(vs.first())?)),
            None => Ok(None),
        }
    }
    /// Every value under `key`, decoded.
    pub fn lookup<V: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Vec<V>, TableError> {
        self.table
            .lookup(HOST, key)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }
    /// Every value under `key`, encoded.
    pub fn lookup_raw(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        self.table.lookup(HOST, key)
    }
    /// Whether `key` has a value.
    pub fn member(&self, key: &[u8]) -> Result<bool, TableError> {
        self.table.member(HOST, key)
    }
    /// Removes `key`; returns whether it had a value.
    pub fn delete(&self, key: &[u8]) -> Result<bool, TableError> {
        self.table.delete(HOST, key)
    }
    /// Removes and returns the encoded values under `key`.
    pub fn take_raw(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        self.table.take(HOST, key)
    }
    /// Adds `incr` to the integer under `key` atomically; returns the new value.
    pub fn update_counter(
        &self,
        key: &[u8],
        incr: i64,
        default: Option<i64>,
    ) -> Result<i64, TableError> {
        self.table.update_counter(HOST, key, incr, default)
    }
    /// The number of entries.
    pub fn size(&self) -> Result<u64, TableError> {
        self.table.size(HOST)
    }
    /// `from <= key < to`, at most `limit` entries (encoded) and the next page's start.
    pub fn range_raw(
        &self,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page, TableError> {
        self.table.range(HOST, from, to, limit)
    }
    /// Keys starting with `prefix`, from `from` on, at most `limit` entries.
    pub fn prefix_raw(
        &self,
        prefix: &[u8],
        from: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page, TableError> {
        self.table.prefix(HOST, prefix, from, limit)
    }
    /// Makes `to` the owner; it receives a table transfer with `data`.
    pub fn give_away(&self, to: ActorId, data: Vec<u8>) -> Result<(), TableError> {
        self.node
            .tables
            .give_away(HOST, &self.table, to.get(), data, &self.node.registry)
    }
    /// Sets or clears the heir.
    pub fn set_heir(&self, heir: Option<(ActorId, Vec<u8>)>) -> Result<(), TableError> {
        self.node.tables.set_heir(
            HOST,
            &self.table,
            heir.map(|(a, d)| (a.get(), d)),
            &self.node.registry,
        )
    }
    /// Deletes the table.
    pub fn delete_table(&self) -> Result<(), TableError> {
        self.node.tables.delete_table(HOST, &self.table)
    }
}
