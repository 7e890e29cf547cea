//! Host-owned tables (OTP's ETS): state that every actor reads directly, without a
//! message to its owner. See docs/semantics.md, "Tables".
//!
//! ```no_run
//! use foundation_sdk::tables::{Table, TableOptions, TableKind};
//! let prices = Table::create(&TableOptions {
//!     name: Some("prices".into()),
//!     kind: TableKind::OrderedSet,
//!     ..TableOptions::default()
//! }).unwrap();
//! prices.insert("EURUSD", &1.09f64).unwrap();
//! // In another actor:
//! let prices = Table::open("prices").unwrap();
//! let p: Option<f64> = prices.get("EURUSD").unwrap();
//! ```
//!
//! Keys are bytes; [`Key`] turns strings and integers into bytes that sort in their
//! natural order (what an `ordered-set` iterates by). Values are MessagePack, like
//! messages.

use foundation_wire::bulk;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ActorId;
use crate::bindings::foundation::actor::tables as wt;
use crate::codec;

pub use wt::{TableAccess, TableError, TableKind};

/// How to create a table.
#[derive(Debug, Clone)]
pub struct TableOptions {
    /// Makes the table findable with [`Table::open`].
    pub name: Option<String>,
    pub kind: TableKind,
    pub access: TableAccess,
    /// Who receives the table, with this data, when this actor stops.
    pub heir: Option<(ActorId, Vec<u8>)>,
    /// Entry quota (the runtime's default when `None`).
    pub max_entries: Option<u64>,
    /// Byte quota of keys and values (the runtime's default when `None`).
    pub max_bytes: Option<u64>,
    /// Keep the table on disk too: every write reaches the runtime's table store
    /// before it returns, and creating it again (after a restart of this actor or of
    /// the host) brings its rows back. Needs a name; `Set` or `OrderedSet`.
    pub durable: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            name: None,
            kind: TableKind::Set,
            access: TableAccess::Protected,
            heir: None,
            max_entries: None,
            max_bytes: None,
            durable: false,
        }
    }
}

/// A key's bytes. Strings are their UTF-8 bytes; unsigned integers big-endian;
/// signed integers big-endian with the sign bit flipped; so byte order is the natural
/// order.
pub trait Key {
    /// The bytes the table stores.
    fn key_bytes(&self) -> Vec<u8>;
}

impl Key for str {
    fn key_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Key for String {
    fn key_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Key for [u8] {
    fn key_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
}
impl Key for Vec<u8> {
    fn key_bytes(&self) -> Vec<u8> {
        self.clone()
    }
}
impl<const N: usize> Key for [u8; N] {
    fn key_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
}
impl<K: Key + ?Sized> Key for &K {
    fn key_bytes(&self) -> Vec<u8> {
        (**self).key_bytes()
    }
}
macro_rules! unsigned_key {
    ($($t:ty),*) => {$(
        impl Key for $t {
            fn key_bytes(&self) -> Vec<u8> { self.to_be_bytes().to_vec() }
        }
    )*};
}
unsigned_key!(u8, u16, u32, u64, u128);
macro_rules! signed_key {
    ($($t:ty => $u:ty),*) => {$(
        impl Key for $t {
            fn key_bytes(&self) -> Vec<u8> {
                ((*self as $u) ^ (1 << (<$u>::BITS - 1))).to_be_bytes().to_vec()
            }
        }
    )*};
}
signed_key!(i8 => u8, i16 => u16, i32 => u32, i64 => u64, i128 => u128);

fn encode<V: Serialize + ?Sized>(v: &V) -> Result<Vec<u8>, TableError> {
    codec::encode(v).map_err(|e| TableError::Invalid(format!("the value does not encode: {e}")))
}

fn decode<V: DeserializeOwned>(b: &[u8]) -> Result<V, TableError> {
    codec::decode(b).map_err(|e| TableError::Invalid(format!("the value does not decode: {e}")))
}

/// One page of a scan: `(key, value)` pairs in key order and the key the next page
/// starts from (`None` when done).
pub type Page<V> = (Vec<(Vec<u8>, V)>, Option<Vec<u8>>);

/// Keys for [`Table::get_many_raw`], framed as the host reads them. Reuse one with
/// [`KeyFrame::clear`] to read without allocating.
#[derive(Debug, Default, Clone)]
pub struct KeyFrame(Vec<u8>);

impl KeyFrame {
    /// An empty frame with room for `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> Self {
        KeyFrame(Vec::with_capacity(bytes))
    }
    /// Adds a key.
    pub fn push(&mut self, key: &[u8]) {
        bulk::push_key(&mut self.0, key);
    }
    /// Removes every key, keeping the allocation.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Entries for [`Table::insert_many_raw`], framed as the host reads them.
#[derive(Debug, Default, Clone)]
pub struct EntryFrame(Vec<u8>);

impl EntryFrame {
    /// Adds an encoded entry.
    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        bulk::push_entry(&mut self.0, key, value);
    }
    /// Removes every entry, keeping the allocation.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// The answer of [`Table::get_many_raw`]: one buffer, read in key order.
#[derive(Debug)]
pub struct Values(Vec<u8>);

impl Values {
    /// Each key's value (`None`: no value), in the order of the keys.
    pub fn iter(&self) -> impl Iterator<Item = Option<&[u8]>> {
        // The host writes the answer: a malformed one is a host bug.
        bulk::values(&self.0).map(|v| v.unwrap_or_else(|e| panic!("foundation: {e}")))
    }
}

/// A handle to a table. Dropping it does not delete the table.
#[derive(Debug)]
pub struct Table(wt::Table);

impl Table {
    /// Creates a table owned by this actor.
    pub fn create(options: &TableOptions) -> Result<Table, TableError> {
        wt::Table::create(&wt::TableOptions {
            name: options.name.clone(),
            kind: options.kind,
            access: options.access,
            heir: options.heir.as_ref().map(|(a, d)| (a.get(), d.clone())),
            max_entries: options.max_entries,
            max_bytes: options.max_bytes,
            durable: options.durable,
        })
        .map(Table)
    }
    /// Opens the live table named `name`.
    pub fn open(name: &str) -> Result<Table, TableError> {
        wt::Table::open(name).map(Table)
    }
    /// Opens the live table with this id (as in [`crate::Info::TableTransfer`]).
    pub fn open_id(id: u64) -> Result<Table, TableError> {
        wt::Table::open_id(id).map(Table)
    }
    /// The table's id.
    pub fn id(&self) -> u64 {
        self.0.id()
    }
    /// Writes `value` under `key` (replacing it in a set, adding it in a bag).
    pub fn insert<K: Key + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<(), TableError> {
        self.0.insert(&key.key_bytes(), &encode(value)?)
    }
    /// Writes only if `key` has no value; returns whether it wrote.
    pub fn insert_new<K: Key + ?Sized, V: Serialize + ?Sized>(
        &self,
        key: &K,
        value: &V,
    ) -> Result<bool, TableError> {
        self.0.insert_new(&key.key_bytes(), &encode(value)?)
    }
    /// The value under `key` (the first one, in a bag).
    pub fn get<V: DeserializeOwned>(
        &self,
        key: &(impl Key + ?Sized),
    ) -> Result<Option<V>, TableError> {
        match self.0.get(&key.key_bytes())? {
            Some(b) => Ok(Some(decode(&b)?)),
            None => Ok(None),
        }
    }
    /// The encoded value under `key` (the first one, in a bag).
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TableError> {
        self.0.get(key)
    }
    /// Every value under `key`.
    pub fn lookup<V: DeserializeOwned>(
        &self,
        key: &(impl Key + ?Sized),
    ) -> Result<Vec<V>, TableError> {
        self.0
            .lookup(&key.key_bytes())?
            .iter()
            .map(|b| decode(b))
            .collect()
    }
    /// The encoded values under `key`.
    pub fn lookup_raw(&self, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        self.0.lookup(key)
    }
    /// The first value under each key, in one call (see [`Table::get_many_raw`]).
    pub fn get_many<K: Key, V: DeserializeOwned>(
        &self,
        keys: &[K],
    ) -> Result<Vec<Option<V>>, TableError> {
        let mut frame = KeyFrame::with_capacity(keys.len() * 16);
        for k in keys {
            frame.push(&k.key_bytes());
        }
        self.get_many_raw(&frame)?
            .iter()
            .map(|v| v.map(decode).transpose())
            .collect()
    }
    /// The encoded first value under each key of `keys`, in one crossing and one
    /// allocation however many keys: the fast way to read many keys. Build `keys`
    /// with [`KeyFrame::push`]; [`Values::iter`] gives each key's value in order.
    pub fn get_many_raw(&self, keys: &KeyFrame) -> Result<Values, TableError> {
        Ok(Values(self.0.get_many(&keys.0)?))
    }
    /// Writes many encoded `(key, value)` entries in one call under one writer
    /// lock (see `insert-many` in the WIT for what happens on errors); returns how
    /// many were written.
    pub fn insert_many_raw(&self, entries: &EntryFrame) -> Result<u64, TableError> {
        self.0.insert_many(&entries.0)
    }
    /// Writes many `(key, value)` entries in one call.
    pub fn insert_many<K: Key, V: Serialize>(&self, entries: &[(K, V)]) -> Result<u64, TableError> {
        let mut frame = EntryFrame::default();
        for (k, v) in entries {
            frame.push(&k.key_bytes(), &encode(v)?);
        }
        self.insert_many_raw(&frame)
    }
    /// Whether `key` has a value.
    pub fn member(&self, key: &(impl Key + ?Sized)) -> Result<bool, TableError> {
        self.0.member(&key.key_bytes())
    }
    /// Removes every value under `key`; returns whether there was one.
    pub fn delete(&self, key: &(impl Key + ?Sized)) -> Result<bool, TableError> {
        self.0.delete(&key.key_bytes())
    }
    /// Removes this exact value under `key`; returns whether there was one.
    pub fn delete_object<V: Serialize + ?Sized>(
        &self,
        key: &(impl Key + ?Sized),
        value: &V,
    ) -> Result<bool, TableError> {
        self.0.delete_object(&key.key_bytes(), &encode(value)?)
    }
    /// Removes and returns the values under `key`.
    pub fn take<V: DeserializeOwned>(
        &self,
        key: &(impl Key + ?Sized),
    ) -> Result<Vec<V>, TableError> {
        self.0
            .take(&key.key_bytes())?
            .iter()
            .map(|b| decode(b))
            .collect()
    }
    /// Adds `incr` to the integer under `key` atomically and returns the new value;
    /// a missing key starts from `default`.
    pub fn update_counter(
        &self,
        key: &(impl Key + ?Sized),
        incr: i64,
        default: Option<i64>,
    ) -> Result<i64, TableError> {
        self.0.update_counter(&key.key_bytes(), incr, default)
    }
    /// The number of entries.
    pub fn size(&self) -> Result<u64, TableError> {
        self.0.size()
    }
    /// Entries with `from <= key < to`, at most `limit` (ordered sets).
    pub fn range<V: DeserializeOwned>(
        &self,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page<V>, TableError> {
        typed(self.0.range(from, to, limit)?)
    }
    /// Entries whose key starts with `prefix`, from `from` on, at most `limit`.
    pub fn prefix<V: DeserializeOwned>(
        &self,
        prefix: &[u8],
        from: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page<V>, TableError> {
        typed(self.0.prefix(prefix, from, limit)?)
    }
    /// Sets or clears the heir (owner only).
    pub fn set_heir(&self, heir: Option<(ActorId, &[u8])>) -> Result<(), TableError> {
        let raw = heir.map(|(a, d)| (a.get(), d));
        self.0.set_heir(raw.as_ref().map(|(a, d)| (a, *d)))
    }
    /// Makes `to` the owner now; it receives [`crate::Info::TableTransfer`] with
    /// `data` (owner only).
    pub fn give_away(&self, to: ActorId, data: &[u8]) -> Result<(), TableError> {
        self.0.give_away(to.get(), data)
    }
    /// Deletes the table (owner only).
    pub fn delete_table(&self) -> Result<(), TableError> {
        self.0.delete_table()
    }
}

fn typed<V: DeserializeOwned>(page: wt::Page) -> Result<Page<V>, TableError> {
    let entries = page
        .entries
        .into_iter()
        .map(|e| Ok((e.key, decode(&e.value)?)))
        .collect::<Result<Vec<_>, TableError>>()?;
    Ok((entries, page.next))
}
