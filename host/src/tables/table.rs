//! Host-owned tables (OTP's ETS): byte keys and byte values that every actor reads
//! directly. docs/semantics.md, "Tables", is the contract.
//!
//! Reads take no lock: hash kinds live in a `papaya::HashMap` (lock-free reads with
//! epoch-based reclamation), ordered sets in a `crossbeam_skiplist::SkipMap` (lock-free
//! ordered reads and range scans). The values of a key sit behind one `Arc`, replaced
//! whole on every write, so a reader sees a key before or after a write, never half
//! of it. Writes to one table are serialised by a mutex, which also makes
//! `insert-new`, `update-counter` and quota checks atomic.

use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use crossbeam_skiplist::SkipMap;
use foundation_wire::bulk;

use crate::id::ActorId;
use crate::store::TableStore;

/// Default quotas of a table.
pub const DEFAULT_MAX_ENTRIES: u64 = 1 << 20;
/// Default quota of a table's keys plus values, in bytes.
pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// What a key holds (docs/semantics.md, "Tables").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableKind {
    /// One value per key.
    #[default]
    Set,
    /// One value per key, in key order; scannable.
    OrderedSet,
    /// Distinct values per key.
    Bag,
    /// Values per key, duplicates allowed.
    DuplicateBag,
}

/// Who may read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableAccess {
    /// Everyone reads, the owner writes.
    #[default]
    Protected,
    /// Only the owner reads and writes.
    Private,
    /// Everyone reads and writes.
    Public,
}

/// How to create a table.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Findable with `Runtime::table`; unique among live tables.
    pub name: Option<String>,
    pub kind: TableKind,
    pub access: TableAccess,
    /// Who receives the table (with this data) when its owner stops.
    pub heir: Option<(ActorId, Vec<u8>)>,
    /// Entry quota; [`DEFAULT_MAX_ENTRIES`] if absent.
    pub max_entries: Option<u64>,
    /// Byte quota (keys plus values); [`DEFAULT_MAX_BYTES`] if absent.
    pub max_bytes: Option<u64>,
    /// Writes reach the runtime's table store before they return, and the table
    /// starts with the rows stored under its name (docs/semantics.md, "Durable
    /// tables"). Needs a name; kinds `Set` and `OrderedSet`. Created by actors: from
    /// Rust, use [`Runtime::store`](crate::Runtime::store).
    pub durable: bool,
}

impl TableOptions {
    /// Checks what a durable table needs: a name, a kind with one value per key.
    pub(crate) fn check_durable(&self) -> Result<(), TableError> {
        if !self.durable {
            return Ok(());
        }
        if self.name.is_none() {
            return Err(TableError::Invalid(
                "a durable table needs a name: its rows are stored under it".into(),
            ));
        }
        if !matches!(self.kind, TableKind::Set | TableKind::OrderedSet) {
            return Err(TableError::Invalid(format!(
                "a durable table is a set or an ordered-set, not a {:?}",
                self.kind
            )));
        }
        Ok(())
    }
}

/// Why a table operation failed; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    #[error("no-table: the table was deleted")]
    NoTable,
    #[error("unknown-name: no live table is named {0:?}")]
    UnknownName(String),
    #[error("name-taken: a live table is already named {0:?}")]
    NameTaken(String),
    #[error("access-denied: {0}")]
    AccessDenied(String),
    #[error("quota-exceeded: {0}")]
    QuotaExceeded(String),
    #[error("too-large: {0} bytes exceed the maximum message size")]
    TooLarge(u64),
    #[error("no-key: the key has no value and no default was given")]
    NoKey,
    #[error("not-a-counter: the value is not an integer, or the table is a bag")]
    NotACounter,
    #[error("unordered: scans need an ordered-set table")]
    Unordered,
    #[error("noproc: no such actor")]
    Noproc,
    #[error("invalid: {0}")]
    Invalid(String),
    /// A durable table's store failed; nothing changed.
    #[error("storage: {0}")]
    Storage(String),
}

/// The values of one key, replaced whole on every write, never empty (a key without
/// values is removed). One short value, the common case of a set of small records
/// or counters, sits in the map entry itself like a short key: writing it allocates
/// nothing but the entry, and reading it chases no pointer.
#[derive(Clone)]
pub(crate) enum Values {
    One { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<[Vec<u8>]>),
}

impl Values {
    fn one(value: &[u8]) -> Values {
        if value.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..value.len()].copy_from_slice(value);
            Values::One {
                len: value.len() as u8,
                bytes,
            }
        } else {
            Values::Shared(Arc::from([value.to_vec()]))
        }
    }

    fn from_vec(values: Vec<Vec<u8>>) -> Values {
        debug_assert!(
            !values.is_empty(),
            "a key without values is removed, not stored"
        );
        match values.as_slice() {
            [one] if one.len() <= INLINE => Values::one(one),
            _ => Values::Shared(Arc::from(values)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Values::One { .. } => 1,
            Values::Shared(vs) => vs.len(),
        }
    }

    pub(crate) fn first(&self) -> &[u8] {
        self.iter().next().expect("stored values are never empty")
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (one, shared): (Option<&[u8]>, &[Vec<u8>]) = match self {
            Values::One { len, bytes } => (Some(&bytes[..*len as usize]), &[]),
            Values::Shared(vs) => (None, vs),
        };
        one.into_iter().chain(shared.iter().map(Vec::as_slice))
    }

    fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }

    /// Entries and bytes (each value with its key) these values count for.
    fn counted(&self, key_len: usize) -> (u64, u64) {
        let bytes = self.iter().map(|v| (key_len + v.len()) as u64).sum();
        (self.len() as u64, bytes)
    }
}

/// foldhash: several times faster than SipHash on short keys; a table's keys come
/// from guests, so its per-process random seed keeps them from choosing collisions.
type Hasher = foldhash::fast::RandomState;

enum Store {
    Hash(papaya::HashMap<KeyBytes, Values, Hasher>),
    // Boxed: a skip list's head is 512 bytes. A node's values sit in an atomic cell
    // replaced in place: `SkipMap::insert` over an existing key unlinks the old node
    // before linking the new one, and a reader in between would find no entry at
    // all, where ETS's `ordered_set` overwrite is atomic to lookups.
    Ordered(Box<SkipMap<KeyBytes, ArcSwap<Values>>>),
}

/// A table key: up to `INLINE` bytes held in place (no allocation, and a lookup
/// compares it without chasing a pointer), longer ones boxed. It hashes, compares
/// and orders exactly as the `[u8]` it holds, so maps look it up by `&[u8]`.
#[derive(Clone)]
enum KeyBytes {
    Inline { len: u8, bytes: [u8; INLINE] },
    Boxed(Box<[u8]>),
}

const INLINE: usize = 22;

impl From<&[u8]> for KeyBytes {
    fn from(key: &[u8]) -> Self {
        if key.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            KeyBytes::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            KeyBytes::Boxed(key.into())
        }
    }
}

impl std::ops::Deref for KeyBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            KeyBytes::Inline { len, bytes } => &bytes[..*len as usize],
            KeyBytes::Boxed(b) => b,
        }
    }
}

impl std::borrow::Borrow<[u8]> for KeyBytes {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl std::hash::Hash for KeyBytes {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        <[u8] as std::hash::Hash>::hash(self, state);
    }
}

impl PartialEq for KeyBytes {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for KeyBytes {}

impl PartialOrd for KeyBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for KeyBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl Store {
    fn get(&self, key: &[u8]) -> Option<Values> {
        match self {
            Store::Hash(m) => m.pin().get(key).cloned(),
            Store::Ordered(m) => m.get(key).map(|e| Values::clone(&e.value().load())),
        }
    }
    /// Calls `f` with the values of each key, under one guard for them all.
    fn get_each<'k>(
        &self,
        keys: impl Iterator<Item = &'k [u8]>,
        mut f: impl FnMut(Option<&Values>),
    ) {
        match self {
            Store::Hash(m) => {
                let m = m.pin();
                for key in keys {
                    f(m.get(key));
                }
            }
            Store::Ordered(m) => {
                for key in keys {
                    match m.get(key) {
                        Some(e) => f(Some(&e.value().load())),
                        None => f(None),
                    }
                }
            }
        }
    }
    fn contains(&self, key: &[u8]) -> bool {
        match self {
            Store::Hash(m) => m.pin().contains_key(key),
            Store::Ordered(m) => m.contains_key(key),
        }
    }
    fn put(&self, key: &[u8], values: Values) {
        match self {
            Store::Hash(m) => {
                m.pin().insert(key.into(), values);
            }
            Store::Ordered(_) => {
                self.swap(key, values);
            }
        }
    }
    /// `put` that returns how many values it replaced and their size (keys
    /// included), read in place: no reference to the old values is taken.
    fn swap(&self, key: &[u8], values: Values) -> (u64, u64) {
        let counted = |old: &Values| old.counted(key.len());
        match self {
            Store::Hash(m) => m.pin().insert(key.into(), values).map_or((0, 0), counted),
            // Writers are serialised per table, so the key cannot come or go
            // between the lookup and the write.
            Store::Ordered(m) => match m.get(key) {
                Some(e) => counted(&e.value().swap(Arc::new(values))),
                None => {
                    m.insert(key.into(), ArcSwap::from_pointee(values));
                    (0, 0)
                }
            },
        }
    }
    fn remove(&self, key: &[u8]) {
        match self {
            Store::Hash(m) => {
                m.pin().remove(key);
            }
            Store::Ordered(m) => {
                m.remove(key);
            }
        }
    }
}

/// One table.
pub(crate) struct Table {
    pub(crate) id: u64,
    name: Option<String>,
    kind: TableKind,
    access: TableAccess,
    owner: AtomicU64,
    heir: Mutex<Option<(u64, Vec<u8>)>>,
    deleted: AtomicBool,
    store: Store,
    /// Serialises writes; readers never take it.
    write: Mutex<()>,
    entries: AtomicU64,
    bytes: AtomicU64,
    max_entries: u64,
    max_bytes: u64,
    max_item: usize,
    /// Set for a durable table: its store and write gate.
    durable: Option<Durability>,
}

/// What a durable table adds (see `tables::durable`): the store its rows go to, and
/// the gate its writes pass one at a time (an async lock: a writer waiting for the
/// store blocks only itself).
pub(crate) struct Durability {
    pub(crate) store: TableStore,
    /// The table name's gate in its store (shared with a later table of the name).
    pub(crate) gate: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Table({})", self.label())
    }
}

/// One page of a scan (`range`, `prefix`): entries in key order and where the next
/// page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The entries, in key order (a bag's values of one key in insertion order).
    pub entries: Vec<Entry>,
    /// The key the next page starts at; `None` when the scan is complete.
    pub next: Option<Vec<u8>>,
}

/// One key and one of its values, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The key's bytes.
    pub key: Vec<u8>,
    /// The value's bytes (MessagePack, as written).
    pub value: Vec<u8>,
}

impl Table {
    /// A new, empty table with these options, owned by `owner`; `max_item` bounds a
    /// key or a value in bytes.
    pub(crate) fn new(
        id: u64,
        options: &TableOptions,
        owner: u64,
        max_item: usize,
        durable: Option<Durability>,
    ) -> Table {
        Table {
            id,
            name: options.name.clone(),
            kind: options.kind,
            access: options.access,
            owner: AtomicU64::new(owner),
            heir: Mutex::new(options.heir.clone().map(|(id, data)| (id.get(), data))),
            deleted: AtomicBool::new(false),
            store: match options.kind {
                TableKind::OrderedSet => Store::Ordered(Box::new(SkipMap::new())),
                // Blocking resizes: a read-mostly table should not make every
                // reader also consult the old array of an unfinished resize.
                _ => Store::Hash(
                    papaya::HashMap::builder()
                        .hasher(Hasher::default())
                        .resize_mode(papaya::ResizeMode::Blocking)
                        .build(),
                ),
            },
            write: Mutex::new(()),
            entries: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            max_entries: options.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES),
            max_bytes: options.max_bytes.unwrap_or(DEFAULT_MAX_BYTES),
            max_item,
            durable,
        }
    }

    /// Its store and write gate, if it is durable.
    pub(crate) fn durability(&self) -> Option<&Durability> {
        self.durable.as_ref()
    }

    /// The value of each of `keys` (a durable table is a set: one value per key).
    pub(crate) fn values_of(&self, keys: &[Vec<u8>]) -> Vec<Option<Vec<u8>>> {
        keys.iter()
            .map(|k| self.store.get(k).map(|v| v.first().to_vec()))
            .collect()
    }

    /// Puts keys back to values they had (a durable write its store refused),
    /// without quota checks: the table held them a moment ago.
    pub(crate) fn restore<'a>(&self, values: impl Iterator<Item = (&'a Vec<u8>, Option<Vec<u8>>)>) {
        let _w = self.write.lock().unwrap();
        for (key, value) in values {
            let (old_n, old_b) = self.store.get(key).map_or((0, 0), |o| o.counted(key.len()));
            let (new_n, new_b) = match value {
                Some(v) => {
                    let counted = (1, (key.len() + v.len()) as u64);
                    self.store.put(key, Values::one(&v));
                    counted
                }
                None => {
                    self.store.remove(key);
                    (0, 0)
                }
            };
            self.entries.fetch_add(new_n, Ordering::Relaxed);
            self.entries.fetch_sub(old_n, Ordering::Relaxed);
            self.bytes.fetch_add(new_b, Ordering::Relaxed);
            self.bytes.fetch_sub(old_b, Ordering::Relaxed);
        }
    }

    /// Fills a new durable table with its stored rows, within its quotas.
    pub(crate) fn load_rows(&self, rows: crate::store::Rows) -> Result<(), TableError> {
        let _w = self.write.lock().unwrap();
        let count = rows.len();
        for (key, value) in rows {
            self.check_size(&key)?;
            self.check_size(&value)?;
            self.replace(&key, None, vec![value]).map_err(|e| match e {
                TableError::QuotaExceeded(why) => {
                    TableError::QuotaExceeded(format!("its {count} stored rows do not fit: {why}"))
                }
                other => other,
            })?;
        }
        Ok(())
    }

    /// Its name, if it has one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Marks it deleted (under the writer lock, so no write is half done): every
    /// handle answers `no-table` from now on.
    pub(crate) fn mark_deleted(&self) {
        let _w = self.write.lock().unwrap();
        self.deleted.store(true, Ordering::Release);
    }

    /// Makes `to` its owner.
    pub(crate) fn set_owner(&self, to: u64) {
        self.owner.store(to, Ordering::Release);
    }

    /// Sets or clears its heir (an actor's raw id and the data it gets).
    pub(crate) fn set_heir(&self, heir: Option<(u64, Vec<u8>)>) {
        *self.heir.lock().unwrap() = heir;
    }

    /// Takes its heir, which inherits it once.
    pub(crate) fn take_heir(&self) -> Option<(u64, Vec<u8>)> {
        self.heir.lock().unwrap().take()
    }

    pub(crate) fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("table {n:?} (#{})", self.id),
            None => format!("table #{}", self.id),
        }
    }

    pub(crate) fn owner(&self) -> u64 {
        self.owner.load(Ordering::Acquire)
    }

    fn alive(&self) -> Result<(), TableError> {
        if self.deleted.load(Ordering::Acquire) {
            Err(TableError::NoTable)
        } else {
            Ok(())
        }
    }

    fn check_read(&self, caller: u64) -> Result<(), TableError> {
        self.alive()?;
        if self.access == TableAccess::Private && caller != self.owner() {
            return Err(TableError::AccessDenied(format!(
                "{} is private to its owner",
                self.label()
            )));
        }
        Ok(())
    }

    fn check_write(&self, caller: u64) -> Result<(), TableError> {
        self.alive()?;
        if self.access != TableAccess::Public && caller != self.owner() {
            return Err(TableError::AccessDenied(format!(
                "only the owner writes to {} ({:?})",
                self.label(),
                self.access
            )));
        }
        Ok(())
    }

    pub(crate) fn check_owner(&self, caller: u64, what: &str) -> Result<(), TableError> {
        self.alive()?;
        if caller != self.owner() {
            return Err(TableError::AccessDenied(format!(
                "only the owner may {what} {}",
                self.label()
            )));
        }
        Ok(())
    }

    fn check_size(&self, bytes: &[u8]) -> Result<(), TableError> {
        if bytes.len() > self.max_item {
            return Err(TableError::TooLarge(bytes.len() as u64));
        }
        Ok(())
    }

    /// Writes `new` (or removes the key when empty) after checking the quotas
    /// against the change from `old`. Called under the writer lock.
    fn replace(
        &self,
        key: &[u8],
        old: Option<&Values>,
        new: Vec<Vec<u8>>,
    ) -> Result<(), TableError> {
        let (old_n, old_b) = old.map_or((0, 0), |o| o.counted(key.len()));
        let new_b = new
            .iter()
            .map(|v| (key.len() + v.len()) as u64)
            .sum::<u64>();
        let new_n = new.len() as u64;
        let entries = self.entries.load(Ordering::Relaxed) - old_n + new_n;
        let bytes = self.bytes.load(Ordering::Relaxed) - old_b + new_b;
        if new_n > old_n && entries > self.max_entries {
            return Err(TableError::QuotaExceeded(format!(
                "{} holds at most {} entries",
                self.label(),
                self.max_entries
            )));
        }
        if new_b > old_b && bytes > self.max_bytes {
            return Err(TableError::QuotaExceeded(format!(
                "{} holds at most {} bytes of keys and values",
                self.label(),
                self.max_bytes
            )));
        }
        if new.is_empty() {
            self.store.remove(key);
        } else {
            self.store.put(key, Values::from_vec(new));
        }
        self.entries.store(entries, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
        Ok(())
    }

    pub(crate) fn insert(&self, caller: u64, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        self.check_size(key)?;
        self.check_size(value)?;
        let _w = self.write.lock().unwrap();
        self.check_write(caller)?;
        self.insert_locked(key, value)
    }

    /// `insert`, under the writer lock.
    fn insert_locked(&self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        if matches!(self.kind, TableKind::Set | TableKind::OrderedSet) {
            // When even a new key fits both quotas, write without looking first and
            // settle the counts from what the write replaced: one probe, not two.
            let added = (key.len() + value.len()) as u64;
            let entries = self.entries.load(Ordering::Relaxed);
            let bytes = self.bytes.load(Ordering::Relaxed);
            if entries < self.max_entries && bytes + added <= self.max_bytes {
                let (old_n, old_b) = self.store.swap(key, Values::one(value));
                self.entries.store(entries - old_n + 1, Ordering::Relaxed);
                self.bytes.store(bytes - old_b + added, Ordering::Relaxed);
                return Ok(());
            }
        }
        let old = self.store.get(key);
        let new = match (self.kind, &old) {
            (TableKind::Set | TableKind::OrderedSet, _) | (_, None) => vec![value.to_vec()],
            (TableKind::Bag, Some(o)) if o.iter().any(|v| v == value) => return Ok(()),
            (TableKind::Bag | TableKind::DuplicateBag, Some(o)) => {
                let mut vs = Vec::with_capacity(o.len() + 1);
                vs.extend(o.iter().map(<[u8]>::to_vec));
                vs.push(value.to_vec());
                vs
            }
        };
        self.replace(key, old.as_ref(), new)
    }

    pub(crate) fn insert_new(
        &self,
        caller: u64,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool, TableError> {
        self.check_size(key)?;
        self.check_size(value)?;
        let _w = self.write.lock().unwrap();
        self.check_write(caller)?;
        if self.store.contains(key) {
            return Ok(false);
        }
        self.replace(key, None, vec![value.to_vec()])?;
        Ok(true)
    }

    pub(crate) fn lookup(&self, caller: u64, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        self.check_read(caller)?;
        Ok(self.store.get(key).map(|v| v.to_vec()).unwrap_or_default())
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, caller: u64, key: &[u8]) -> Result<Option<Vec<u8>>, TableError> {
        self.check_read(caller)?;
        Ok(self.store.get(key).map(|vs| vs.first().to_vec()))
    }

    /// `get` for every key of a key frame, answered as one frame (both laid out by
    /// [`foundation_wire::bulk`]). The answer is at most `max` bytes.
    pub(crate) fn get_many(
        &self,
        caller: u64,
        frame: &[u8],
        max: usize,
    ) -> Result<Vec<u8>, TableError> {
        self.check_read(caller)?;
        let keys = bulk::split::<1>(frame)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TableError::Invalid(e.to_string()))?;
        let mut out = Vec::with_capacity(keys.len() * bulk::LEN);
        // Lengths travel as u32 words.
        let max = (max as u64).min(u64::from(u32::MAX));
        // The answer's size so far, counted whole even once past `max`.
        let mut size = 0u64;
        self.store.get_each(keys.iter().map(|k| k[0]), |vs| {
            let value = vs.map(Values::first);
            size += bulk::value_len(value) as u64;
            if size > max {
                return;
            }
            // Fits the frame's u32 words: the answer so far does (checked just above).
            bulk::push_value(&mut out, value);
        });
        if size > max {
            return Err(TableError::TooLarge(size));
        }
        Ok(out)
    }

    /// `insert` of every (key, value) of an entry frame ([`foundation_wire::bulk`]) under one writer
    /// lock. All or nothing for errors found before writing (sizes, access, a
    /// malformed frame); a quota error stops at the entry that would pass it, with the
    /// entries before it written. Readers may see the first entries before the last.
    pub(crate) fn insert_many(&self, caller: u64, frame: &[u8]) -> Result<u64, TableError> {
        let entries = bulk::split::<2>(frame)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TableError::Invalid(e.to_string()))?;
        // The writer lock is held for the whole batch: bound it, so a bulk write
        // never holds other writers (and their threads) for long.
        if entries.len() > MAX_BULK_INSERT {
            return Err(TableError::Invalid(format!(
                "insert-many takes at most {MAX_BULK_INSERT} entries per call, not {}",
                entries.len()
            )));
        }
        for e in &entries {
            self.check_size(e[0])?;
            self.check_size(e[1])?;
        }
        let _w = self.write.lock().unwrap();
        self.check_write(caller)?;
        for (written, e) in entries.iter().enumerate() {
            self.insert_locked(e[0], e[1]).map_err(|err| match err {
                TableError::QuotaExceeded(why) => TableError::QuotaExceeded(format!(
                    "{why} (the first {written} entries of the batch were written)"
                )),
                other => other,
            })?;
        }
        Ok(entries.len() as u64)
    }

    /// The values of `key` without copying them.
    pub(crate) fn lookup_shared(
        &self,
        caller: u64,
        key: &[u8],
    ) -> Result<Option<Values>, TableError> {
        self.check_read(caller)?;
        Ok(self.store.get(key))
    }

    pub(crate) fn member(&self, caller: u64, key: &[u8]) -> Result<bool, TableError> {
        self.check_read(caller)?;
        Ok(self.store.contains(key))
    }

    pub(crate) fn take(&self, caller: u64, key: &[u8]) -> Result<Vec<Vec<u8>>, TableError> {
        let _w = self.write.lock().unwrap();
        self.check_write(caller)?;
        let Some(old) = self.store.get(key) else {
            return Ok(Vec::new());
        };
        self.replace(key, Some(&old), Vec::new())?;
        Ok(old.to_vec())
    }

    pub(crate) fn delete(&self, caller: u64, key: &[u8]) -> Result<bool, TableError> {
        Ok(!self.take(caller, key)?.is_empty())
    }

    pub(crate) fn delete_object(
        &self,
        caller: u64,
        key: &[u8],
        value: &[u8],
    ) -> Result<bool, TableError> {
        let _w = self.write.lock().unwrap();
        self.check_write(caller)?;
        let Some(old) = self.store.get(key) else {
            return Ok(false);
        };
        let new: Vec<Vec<u8>> = old
            .iter()
            .filter(|v| *v != value)
            .map(<[u8]>::to_vec)
            .collect();
        if new.len() == old.len() {
            return Ok(false);
        }
        self.replace(key, Some(&old), new)?;
        Ok(true)
    }

    pub(crate) fn update_counter(
        &self,
        caller: u64,
        key: &[u8],
        incr: i64,
        default: Option<i64>,
    ) -> Result<i64, TableError> {
        self.check_size(key)?;
        if matches!(self.kind, TableKind::Bag | TableKind::DuplicateBag) {
            return Err(TableError::NotACounter);
        }
        let _w = self.write.lock().unwrap();
        self.check_write(caller)?;
        let old = self.store.get(key);
        let current = match (&old, default) {
            (Some(vs), _) => {
                rmp_serde::from_slice::<i64>(vs.first()).map_err(|_| TableError::NotACounter)?
            }
            (None, Some(d)) => d,
            (None, None) => return Err(TableError::NoKey),
        };
        let new = current
            .checked_add(incr)
            .ok_or_else(|| TableError::Invalid(format!("counter overflow: {current} + {incr}")))?;
        let bytes = rmp_serde::to_vec(&new).expect("an integer encodes");
        self.replace(key, old.as_ref(), vec![bytes])?;
        Ok(new)
    }

    pub(crate) fn size(&self, caller: u64) -> Result<u64, TableError> {
        self.check_read(caller)?;
        Ok(self.entries.load(Ordering::Relaxed))
    }

    /// Entries with `from <= key < to`, at most `limit`, and the key the next page
    /// starts from.
    pub(crate) fn range(
        &self,
        caller: u64,
        from: Option<&[u8]>,
        to: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page, TableError> {
        self.scan(caller, from, |k| to.is_none_or(|to| k < to), limit)
    }

    /// Entries whose key starts with `prefix`, from `from` on.
    pub(crate) fn prefix(
        &self,
        caller: u64,
        prefix: &[u8],
        from: Option<&[u8]>,
        limit: u32,
    ) -> Result<Page, TableError> {
        let start = match from {
            Some(f) if f > prefix => f,
            _ => prefix,
        };
        self.scan(caller, Some(start), |k| k.starts_with(prefix), limit)
    }

    fn scan(
        &self,
        caller: u64,
        from: Option<&[u8]>,
        within: impl Fn(&[u8]) -> bool,
        limit: u32,
    ) -> Result<Page, TableError> {
        self.check_read(caller)?;
        let Store::Ordered(map) = &self.store else {
            return Err(TableError::Unordered);
        };
        let lower = from.map_or(Bound::Unbounded, Bound::Included);
        let mut entries = Vec::new();
        for e in map.range::<[u8], _>((lower, Bound::Unbounded)) {
            let key: &[u8] = e.key();
            if !within(key) {
                return Ok(Page {
                    entries,
                    next: None,
                });
            }
            if entries.len() == limit as usize {
                return Ok(Page {
                    entries,
                    next: Some(key.to_vec()),
                });
            }
            for v in e.value().load().iter() {
                entries.push(Entry {
                    key: key.to_vec(),
                    value: v.to_vec(),
                });
            }
        }
        Ok(Page {
            entries,
            next: None,
        })
    }
}

/// A guest's handle to a table (the WIT resource's representation).
#[derive(Debug)]
pub struct TableHandle(pub(crate) Arc<Table>);

/// The most entries one `insert-many` writes (under one writer lock).
pub(crate) const MAX_BULK_INSERT: usize = 4096;

#[cfg(test)]
mod tests {
    use super::{INLINE, KeyBytes};

    #[test]
    fn keys_hash_compare_and_order_as_their_bytes() {
        use std::hash::BuildHasher;
        let hasher = super::Hasher::default();
        let keys: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![1, 2, 3],
            vec![7; INLINE - 1],
            vec![7; INLINE],
            vec![7; INLINE + 1],
            vec![9; 300],
        ];
        for a in &keys {
            let ka = KeyBytes::from(a.as_slice());
            assert_eq!(&*ka, a.as_slice());
            assert_eq!(hasher.hash_one(&ka), hasher.hash_one(a.as_slice()));
            for b in &keys {
                let kb = KeyBytes::from(b.as_slice());
                assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} {b:?}");
                assert_eq!(ka == kb, a == b);
            }
        }
        let map = papaya::HashMap::builder()
            .hasher(super::Hasher::default())
            .build();
        for k in &keys {
            map.pin().insert(KeyBytes::from(k.as_slice()), k.len());
        }
        for k in &keys {
            assert_eq!(map.pin().get(k.as_slice()), Some(&k.len()));
        }
    }

    /// Values held in the entry and values held behind a pointer read, count and
    /// replace each other alike, whichever way a key moves between them.
    #[test]
    fn inline_and_shared_values_count_and_read_alike() {
        use super::{TableKind, TableOptions, Values};
        use crate::id::HOST;
        use crate::tables::owners::Tables;
        let short = vec![1u8; INLINE];
        let long = vec![2u8; INLINE + 1];
        for v in [&short, &long] {
            let one = Values::one(v);
            assert_eq!(one.len(), 1);
            assert_eq!(one.first(), v.as_slice());
            assert_eq!(one.to_vec(), vec![v.clone()]);
            assert_eq!(one.counted(3), (1, 3 + v.len() as u64));
        }
        assert!(matches!(Values::one(&short), Values::One { .. }));
        assert!(matches!(Values::one(&long), Values::Shared(_)));
        let two = Values::from_vec(vec![short.clone(), long.clone()]);
        assert_eq!(two.len(), 2);
        assert_eq!(two.to_vec(), vec![short.clone(), long.clone()]);
        assert_eq!(two.counted(1), (2, 2 + (2 * INLINE + 1) as u64));

        let registry = crate::process::registry::Registry::default();
        let tables = Tables::default();
        let bytes = |t: &super::Table| t.bytes.load(std::sync::atomic::Ordering::Relaxed);
        // Both kinds of set, through the one-probe path (room to spare) and through
        // `replace` (a byte quota too tight for the one-probe path's check).
        for (kind, max_bytes) in [
            (TableKind::Set, None),
            (TableKind::OrderedSet, None),
            (TableKind::Set, Some(2 * INLINE as u64)),
            (TableKind::OrderedSet, Some(2 * INLINE as u64)),
        ] {
            let options = TableOptions {
                kind,
                max_bytes,
                ..TableOptions::default()
            };
            let set = tables
                .create(HOST, options, 1 << 20, &registry, None)
                .unwrap();
            set.insert(HOST, b"k", &short).unwrap();
            assert_eq!(
                (set.size(HOST).unwrap(), bytes(&set)),
                (1, 1 + INLINE as u64)
            );
            set.insert(HOST, b"k", &long).unwrap();
            assert_eq!(
                (set.size(HOST).unwrap(), bytes(&set)),
                (1, 2 + INLINE as u64)
            );
            assert_eq!(set.get(HOST, b"k").unwrap(), Some(long.clone()));
            set.insert(HOST, b"k", &short).unwrap();
            assert_eq!(
                (set.size(HOST).unwrap(), bytes(&set)),
                (1, 1 + INLINE as u64)
            );
            assert_eq!(set.lookup(HOST, b"k").unwrap(), vec![short.clone()]);
            if max_bytes.is_none() {
                assert_eq!(set.update_counter(HOST, b"n", 5, Some(1)).unwrap(), 6);
                assert_eq!(set.update_counter(HOST, b"n", 1, None).unwrap(), 7);
            }
            if kind == TableKind::OrderedSet {
                let page = set.range(HOST, None, None, 10).unwrap();
                assert_eq!(page.entries[0].key, b"k");
                assert_eq!(page.entries[0].value, short);
            }
        }

        // A bag keeps one copy of a value, inline or not.
        let options = TableOptions {
            kind: TableKind::Bag,
            ..TableOptions::default()
        };
        let bag = tables
            .create(HOST, options, 1 << 20, &registry, None)
            .unwrap();
        for v in [&short, &short, &long, &long] {
            bag.insert(HOST, b"k", v).unwrap();
        }
        assert_eq!(
            bag.lookup(HOST, b"k").unwrap(),
            vec![short.clone(), long.clone()]
        );
        assert_eq!(
            (bag.size(HOST).unwrap(), bytes(&bag)),
            (2, 2 + (2 * INLINE + 1) as u64)
        );

        let bag = tables
            .create(
                HOST,
                TableOptions {
                    kind: TableKind::DuplicateBag,
                    ..TableOptions::default()
                },
                1 << 20,
                &registry,
                None,
            )
            .unwrap();
        bag.insert(HOST, b"k", &short).unwrap();
        bag.insert(HOST, b"k", &long).unwrap();
        bag.insert(HOST, b"k", &short).unwrap();
        assert_eq!(
            bag.lookup(HOST, b"k").unwrap(),
            vec![short.clone(), long.clone(), short.clone()]
        );
        assert!(bag.delete_object(HOST, b"k", &short).unwrap());
        assert_eq!(bag.lookup(HOST, b"k").unwrap(), vec![long.clone()]);
        assert_eq!(
            (bag.size(HOST).unwrap(), bytes(&bag)),
            (1, 2 + INLINE as u64)
        );
        assert_eq!(bag.take(HOST, b"k").unwrap(), vec![long]);
        assert_eq!((bag.size(HOST).unwrap(), bytes(&bag)), (0, 0));
    }

    /// An overwrite is atomic to readers on both kinds of map: a key that always
    /// has a value is never found absent, however a read and a write interleave.
    #[test]
    fn overwrites_never_hide_a_key_from_readers() {
        use super::{TableKind, TableOptions};
        use crate::id::HOST;
        use crate::tables::owners::Tables;
        use std::sync::atomic::{AtomicBool, Ordering};
        for kind in [TableKind::Set, TableKind::OrderedSet] {
            let registry = crate::process::registry::Registry::default();
            let tables = Tables::default();
            let options = TableOptions {
                kind,
                ..TableOptions::default()
            };
            let t = tables
                .create(HOST, options, 1 << 20, &registry, None)
                .unwrap();
            t.insert(HOST, b"k", &[0; 8]).unwrap();
            let done = AtomicBool::new(false);
            std::thread::scope(|s| {
                let reader = s.spawn(|| {
                    let mut reads = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        assert!(t.get(HOST, b"k").unwrap().is_some(), "{kind:?}: k vanished");
                        assert!(t.member(HOST, b"k").unwrap(), "{kind:?}: k not a member");
                        reads += 1;
                    }
                    reads
                });
                for i in 0..200_000u32 {
                    // Alternate short (inline) and long values.
                    let v = if i % 2 == 0 { vec![1; 8] } else { vec![2; 64] };
                    t.insert(HOST, b"k", &v).unwrap();
                }
                done.store(true, Ordering::Relaxed);
                assert!(reader.join().unwrap() > 0);
            });
        }
    }
}
