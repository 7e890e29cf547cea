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
    /// The table, if Rust may write to it: a durable table's writes wait for its
    /// store, which only an actor's (async) write does; Rust keeps durable state with
    /// [`Runtime::store`](crate::Runtime::store).
    fn writable(&self) -> Result<&Table, TableError> {
        if self.table.durability().is_some() {
            return Err(TableError::Invalid(format!(
                "{} is durable: actors write to it (their writes wait for its store); \
                 from Rust, keep durable state with Runtime::store",
                self.table.label()
            )));
        }
        Ok(&self.table)
    }

    /// The table's id.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// assert_eq!(runtime.table_by_id(t.id())?.id(), t.id());
    /// # Ok(()) }
    /// ```
    pub fn id(&self) -> u64 {
        self.table.id
    }
    /// Writes `value` under `key`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// t.insert(b"k", &1)?;
    /// t.insert(b"k", &2)?; // a set: the new value replaces the old
    /// assert_eq!(t.get::<i32>(b"k")?, Some(2));
    /// # Ok(()) }
    /// ```
    pub fn insert<V: serde::Serialize + ?Sized>(
        &self,
        key: &[u8],
        value: &V,
    ) -> Result<(), TableError> {
        self.writable()?.insert(HOST, key, &encode(value)?)
    }
    /// Writes encoded bytes under `key`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// t.insert_raw(b"k", &foundation::codec::encode(&"v")?)?;
    /// assert_eq!(t.get::<String>(b"k")?.as_deref(), Some("v"));
    /// # Ok(()) }
    /// ```
    pub fn insert_raw(&self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        self.writable()?.insert(HOST, key, value)
    }
    /// Writes only if `key` has no value; returns whether it wrote.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// assert!(t.insert_new(b"lock", &"me")?);
    /// assert!(!t.insert_new(b"lock", &"you")?);
    /// assert_eq!(t.get::<String>(b"lock")?.as_deref(), Some("me"));
    /// # Ok(()) }
    /// ```
    pub fn insert_new<V: serde::Serialize + ?Sized>(
        &self,
        key: &[u8],
        value: &V,
    ) -> Result<bool, TableError> {
        self.writable()?.insert_new(HOST, key, &encode(value)?)
    }
    /// The value under `key` of a set (the first one of a bag).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// assert_eq!(t.get::<i32>(b"k")?, None);
    /// t.insert(b"k", &7)?;
    /// assert_eq!(t.get::<i32>(b"k")?, Some(7));
    /// // A value that does not decode as the asked type is an error, not a guess.
    /// assert!(t.get::<String>(b"k").is_err());
    /// # Ok(()) }
    /// ```
    pub fn get<V: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<V>, TableError> {
        match self.table.lookup_shared(HOST, key)? {
            Some(vs) => Ok(Some(decode(vs.first())?)),
            None => Ok(None),
        }
    }
    /// Every value under `key`, decoded.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::{TableKind, TableOptions};
    /// let t = runtime.create_table(TableOptions { kind: TableKind::Bag, ..TableOptions::default() })?;
    /// t.insert(b"k", &1)?;
    /// t.insert(b"k", &2)?;
    /// assert_eq!(t.lookup::<i32>(b"k")?, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn lookup<V: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Vec<V>, TableError> {
        self.table
            .lookup(HOST, key)?
            .iter()
            .map(|b| decode(b))
            .collect()
    }
    /// Every value under `key`, encoded.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::{TableKind, TableOptions};
    /// let t = runtime.create_table(TableOptions { kind: TableKind::Bag, ..TableOptions::default() })?;
    /// t.insert(b"k", &1)?;
    /// assert_eq!(t.lookup_raw(b"k")?, [foundation::codec::encode(&1)?]);
    /// # Ok(()) }
    /// ```
    pub fn lookup_raw(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        self.table.lookup(HOST, key)
    }
    /// Whether `key` has a value.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// t.insert(b"k", &())?;
    /// assert!(t.member(b"k")?);
    /// assert!(!t.member(b"other")?);
    /// # Ok(()) }
    /// ```
    pub fn member(&self, key: &[u8]) -> Result<bool, TableError> {
        self.table.member(HOST, key)
    }
    /// Removes `key`; returns whether it had a value.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// t.insert(b"k", &1)?;
    /// assert!(t.delete(b"k")?);
    /// assert!(!t.delete(b"k")?);
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, key: &[u8]) -> Result<bool, TableError> {
        self.writable()?.delete(HOST, key)
    }
    /// Removes and returns the encoded values under `key`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::{TableKind, TableOptions};
    /// let t = runtime.create_table(TableOptions { kind: TableKind::Bag, ..TableOptions::default() })?;
    /// t.insert(b"job", &1)?;
    /// t.insert(b"job", &2)?;
    /// assert_eq!(t.take_raw(b"job")?.len(), 2);
    /// assert!(!t.member(b"job")?);
    /// # Ok(()) }
    /// ```
    pub fn take_raw(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        self.writable()?.take(HOST, key)
    }
    /// Adds `incr` to the integer under `key` atomically; returns the new value.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// assert_eq!(t.update_counter(b"hits", 1, Some(0))?, 1);
    /// assert_eq!(t.update_counter(b"hits", 5, None)?, 6);
    /// // No value and no default: an error, nothing written.
    /// assert!(t.update_counter(b"misses", 1, None).is_err());
    /// # Ok(()) }
    /// ```
    pub fn update_counter(
        &self,
        key: &[u8],
        incr: i64,
        default: Option<i64>,
    ) -> Result<i64, TableError> {
        self.writable()?.update_counter(HOST, key, incr, default)
    }
    /// The number of entries.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// t.insert(b"a", &1)?;
    /// t.insert(b"b", &2)?;
    /// assert_eq!(t.size()?, 2);
    /// # Ok(()) }
    /// ```
    pub fn size(&self) -> Result<u64, TableError> {
        self.table.size(HOST)
    }
    /// `from <= key < to`, at most `limit` entries (encoded) and the next page's start.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::{TableKind, TableOptions};
    /// let t = runtime.create_table(TableOptions { kind: TableKind::OrderedSet, ..TableOptions::default() })?;
    /// for k in [b"a", b"b", b"c"] {
    ///     t.insert(k, &0)?;
    /// }
    /// let page = t.range_raw(Some(b"a"), Some(b"c"), 1)?;
    /// assert_eq!(page.entries[0].key, b"a");
    /// // Continue where the page stopped.
    /// let rest = t.range_raw(page.next.as_deref(), Some(b"c"), 10)?;
    /// assert_eq!(rest.entries.iter().map(|e| e.key.clone()).collect::<Vec<_>>(), [b"b"]);
    /// assert_eq!(rest.next, None);
    /// # Ok(()) }
    /// ```
    pub fn range_raw(
        &self,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page, TableError> {
        self.table.range(HOST, from, to, limit)
    }
    /// Keys starting with `prefix`, from `from` on, at most `limit` entries.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// use foundation::{TableKind, TableOptions};
    /// let t = runtime.create_table(TableOptions { kind: TableKind::OrderedSet, ..TableOptions::default() })?;
    /// for k in [&b"user/1"[..], b"user/2", b"video/1"] {
    ///     t.insert(k, &0)?;
    /// }
    /// let page = t.prefix_raw(b"user/", None, 10)?;
    /// assert_eq!(page.entries.len(), 2);
    /// assert_eq!(page.next, None);
    /// # Ok(()) }
    /// ```
    pub fn prefix_raw(
        &self,
        prefix: &[u8],
        from: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page, TableError> {
        self.table.prefix(HOST, prefix, from, limit)
    }
    /// Makes `to` the owner; it receives a table transfer with `data`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// let mut probe = runtime.probe();
    /// t.give_away(probe.id(), b"yours".to_vec())?;
    /// let got = probe.recv_signal(std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(
    ///     got,
    ///     foundation::SystemMessage::TableTransfer { table: t.id(), from: 0, data: b"yours".to_vec() }
    /// );
    /// # Ok(()) }
    /// ```
    pub fn give_away(&self, to: ActorId, data: Vec<u8>) -> Result<(), TableError> {
        self.node
            .tables
            .give_away(HOST, &self.table, to.get(), data, &self.node.registry)
    }
    /// Sets or clears the heir.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// let heir = runtime.probe();
    /// t.set_heir(Some((heir.id(), b"if I die".to_vec())))?;
    /// t.set_heir(None)?;
    /// # Ok(()) }
    /// ```
    pub fn set_heir(&self, heir: Option<(ActorId, Vec<u8>)>) -> Result<(), TableError> {
        self.node.tables.set_heir(
            HOST,
            &self.table,
            heir.map(|(a, d)| (a.get(), d)),
            &self.node.registry,
        )
    }
    /// Deletes the table.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let t = runtime.create_table(foundation::TableOptions::default())?;
    /// t.insert(b"k", &1)?;
    /// t.delete_table()?;
    /// assert!(t.get::<i32>(b"k").is_err(), "the table is gone");
    /// # Ok(()) }
    /// ```
    pub fn delete_table(&self) -> Result<(), TableError> {
        self.node.tables.delete_table(HOST, &self.table)
    }
}
