//! Durable key-value stores: named buckets of string keys and byte values that outlive
//! the host process, on embedded SQLite (the default) or PostgreSQL. Guests reach them
//! through `wasi:keyvalue` (`wasm/host/keyvalue`), Rust through [`Bucket`].
//! `docs/semantics.md` ("Durable state") is the contract.
//!
//! Every backend answers the same [`Op`]s through one trait, [`Backend`], off the
//! actors' scheduler threads: a caller awaits the answer, it never blocks a thread.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::oneshot;

mod postgres;
mod sqlite;

/// The longest key, in bytes.
pub const MAX_KEY_SIZE: usize = 4096;
/// A store's default `max_value_size`, in bytes.
pub const DEFAULT_MAX_VALUE_SIZE: usize = 1 << 20;
/// The most keys one `list-keys` page holds.
pub const LIST_PAGE: usize = 1000;

/// A store operation that failed, naming the store and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No store of this name is declared.
    #[error("no-such-store: no store named {0:?} is declared")]
    NoSuchStore(String),
    /// The caller was not granted this store.
    #[error("access-denied: this actor was not granted the store {0:?}")]
    AccessDenied(String),
    /// A key or value is larger than the store accepts (or a key is empty).
    #[error("too-large: {0}")]
    TooLarge(String),
    /// The operation does not apply to what the key holds (a counter that is not one,
    /// an overflow).
    #[error("invalid: {0}")]
    Invalid(String),
    /// The store cannot be reached now (a database that is down, a store that was
    /// closed); nothing was written.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The store failed the operation (an I/O error, a full disk); nothing was
    /// written.
    #[error("store error: {0}")]
    Failed(String),
    /// The write may or may not have been committed: the commit itself failed, or the
    /// connection was lost during it. Read the key to learn which.
    #[error("outcome-unknown: {0}")]
    OutcomeUnknown(String),
}

/// Where a store keeps its data.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreConfig {
    /// The runtime's embedded SQLite database (`foundation.db` in its data directory).
    Sqlite {
        /// The largest value, in bytes.
        max_value_size: usize,
    },
    /// A PostgreSQL database, shared by every host that names it.
    Postgres {
        /// A `postgres://` URL or a libpq key-value connection string, without the
        /// password when `password_env` is set.
        url: String,
        /// The environment variable holding the password, read when the store opens.
        password_env: Option<String>,
        /// Connections in the pool.
        pool_size: usize,
        /// The largest value, in bytes.
        max_value_size: usize,
    },
}

impl fmt::Debug for StoreConfig {
    // The URL may hold a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConfig::Sqlite { max_value_size } => f
                .debug_struct("Sqlite")
                .field("max_value_size", max_value_size)
                .finish(),
            StoreConfig::Postgres {
                password_env,
                pool_size,
                max_value_size,
                ..
            } => f
                .debug_struct("Postgres")
                .field("url", &"<hidden>")
                .field("password_env", password_env)
                .field("pool_size", pool_size)
                .field("max_value_size", max_value_size)
                .finish(),
        }
    }
}

impl StoreConfig {
    /// A store in the runtime's SQLite database.
    pub fn sqlite() -> StoreConfig {
        StoreConfig::Sqlite {
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
        }
    }

    /// A store in the PostgreSQL database at `url`.
    pub fn postgres(url: impl Into<String>) -> StoreConfig {
        StoreConfig::Postgres {
            url: url.into(),
            password_env: None,
            pool_size: 8,
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
        }
    }

    /// Sets the largest value the store accepts.
    pub fn max_value_size(mut self, bytes: usize) -> StoreConfig {
        match &mut self {
            StoreConfig::Sqlite { max_value_size }
            | StoreConfig::Postgres { max_value_size, .. } => *max_value_size = bytes,
        }
        self
    }

    /// Reads the password of a postgres store from the environment variable `var`
    /// when the store opens (no effect on a SQLite store). The password never appears
    /// in the manifest, the log or `Debug` output.
    pub fn password_env(mut self, var: &str) -> StoreConfig {
        if let StoreConfig::Postgres { password_env, .. } = &mut self {
            *password_env = Some(var.to_string());
        }
        self
    }

    fn max_value(&self) -> usize {
        match self {
            StoreConfig::Sqlite { max_value_size }
            | StoreConfig::Postgres { max_value_size, .. } => *max_value_size,
        }
    }
}

/// One page of keys from [`Bucket::list_keys`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPage {
    /// Keys in order.
    pub keys: Vec<String>,
    /// Where the next page starts (pass it back); `None` on the last page.
    pub cursor: Option<String>,
}

/// A key's value as a compare-and-swap saw it: [`Bucket::swap`] writes only if the
/// key still holds this version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cas {
    key: String,
    /// The value then; `None` if the key was absent.
    pub value: Option<Vec<u8>>,
    /// Its version: 0 for an absent key, else a number no other write of this store
    /// had or will have.
    version: u64,
}

impl Cas {
    /// The key this handle watches.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// Rows of a durable table: keys and values, in key order.
pub(crate) type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// A guest's compare-and-swap handle (`wasi:keyvalue/atomics.cas`): the read and
/// the store it came from.
#[derive(Debug)]
pub struct CasHandle {
    pub(crate) bucket: Bucket,
    pub(crate) cas: Cas,
}

/// What a backend is asked to do, on one bucket.
#[derive(Debug)]
pub(crate) enum Op {
    Get(String),
    Exists(String),
    List(Option<String>),
    GetMany(Vec<String>),
    /// The value and version of a key, for compare-and-swap.
    Read(String),
    Set(String, Vec<u8>),
    Delete(String),
    Increment(String, i64),
    Swap {
        key: String,
        version: u64,
        value: Vec<u8>,
    },
    SetMany(Vec<(String, Vec<u8>)>),
    DeleteMany(Vec<String>),
    /// The rows of the durable table named by the bucket argument, in key order.
    TableLoad,
    /// The values of these keys in the durable table named by the bucket argument.
    TableGet(Vec<Vec<u8>>),
    /// Writes and deletes rows of the durable table named by the bucket argument, in
    /// one transaction.
    TableWrite {
        puts: Rows,
        deletes: Vec<Vec<u8>>,
    },
}

impl Op {
    /// Whether it writes (goes to the writer, waits for the commit).
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            Op::Set(..)
                | Op::Delete(_)
                | Op::Increment(..)
                | Op::Swap { .. }
                | Op::SetMany(_)
                | Op::DeleteMany(_)
                | Op::TableWrite { .. }
        )
    }
}

/// A backend's answer to an [`Op`].
#[derive(Debug)]
pub(crate) enum Out {
    Value(Option<Vec<u8>>),
    Bool(bool),
    Keys(KeyPage),
    Values(Vec<Option<Vec<u8>>>),
    Versioned(Option<Vec<u8>>, u64),
    Rows(Rows),
    Int(i64),
    /// `Swap`: written, or the value and version the key holds instead.
    Swapped(Result<(), (Option<Vec<u8>>, u64)>),
    Done,
}

pub(crate) type Answer = oneshot::Receiver<Result<Out, StoreError>>;

/// A storage engine: answers each op on a thread or task of its own, never the
/// caller's.
pub(crate) trait Backend: Send + Sync + fmt::Debug {
    fn submit(&self, bucket: &Arc<str>, op: Op) -> Answer;

    /// Finishes what was submitted, then refuses more (`unavailable`) and lets go of
    /// what it holds (a data directory's lock, connections).
    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// A handle on one store (a bucket), usable from Rust and cheap to clone. From
/// [`Runtime::store`](crate::Runtime::store).
///
/// ```
/// # #[tokio::main] async fn main() -> anyhow::Result<()> {
/// let dir = std::env::temp_dir().join(format!("foundation-doc-{}", std::process::id()));
/// let runtime = foundation::Runtime::builder()
///     .data_dir(&dir)
///     .store("orders", foundation::StoreConfig::sqlite())
///     .build()?;
/// let orders = runtime.store("orders")?;
/// orders.set("o-1", b"2 apples").await?;
/// assert_eq!(orders.get("o-1").await?.as_deref(), Some(&b"2 apples"[..]));
/// assert_eq!(orders.increment("count", 5).await?, 5);
/// # drop(runtime); std::fs::remove_dir_all(&dir)?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bucket {
    name: Arc<str>,
    backend: Arc<dyn Backend>,
    max_value: usize,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    async fn run(&self, op: Op) -> Result<Out, StoreError> {
        ask(&*self.backend, &self.name, op, &self.name).await
    }

    fn check_key(&self, key: &str) -> Result<(), StoreError> {
        if key.is_empty() {
            return Err(StoreError::TooLarge(format!(
                "an empty key (store {:?}): a key is 1 to {MAX_KEY_SIZE} bytes",
                self.name
            )));
        }
        if key.len() > MAX_KEY_SIZE {
            return Err(StoreError::TooLarge(format!(
                "a key of {} bytes exceeds the limit of {MAX_KEY_SIZE} bytes (store {:?})",
                key.len(),
                self.name
            )));
        }
        Ok(())
    }

    fn check_value(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if value.len() > self.max_value {
            return Err(StoreError::TooLarge(format!(
                "the value of key {key:?} is {} bytes, over the store {:?}'s max_value_size of {} bytes",
                value.len(),
                self.name,
                self.max_value
            )));
        }
        Ok(())
    }

    /// The value of `key`, if any.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_key(key)?;
        match self.run(Op::Get(key.to_string())).await? {
            Out::Value(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets `key` to `value`; durable once this returns `Ok`.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.check_key(key)?;
        self.check_value(key, value)?;
        self.done(Op::Set(key.to_string(), value.to_vec())).await
    }

    /// Deletes `key` (no error if it is absent).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check_key(key)?;
        self.done(Op::Delete(key.to_string())).await
    }

    /// Whether `key` has a value.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.check_key(key)?;
        match self.run(Op::Exists(key.to_string())).await? {
            Out::Bool(b) => Ok(b),
            other => Err(unexpected(&other)),
        }
    }

    /// Up to [`LIST_PAGE`] keys in order, after `cursor` (from the previous page).
    pub async fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, StoreError> {
        match self.run(Op::List(cursor.map(str::to_string))).await? {
            Out::Keys(page) => Ok(page),
            other => Err(unexpected(&other)),
        }
    }

    /// Adds `delta` to the counter at `key` (0 if absent) and returns the new value.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.check_key(key)?;
        match self.run(Op::Increment(key.to_string(), delta)).await? {
            Out::Int(n) => Ok(n),
            other => Err(unexpected(&other)),
        }
    }

    /// Reads `key` for a compare-and-swap.
    pub async fn cas(&self, key: &str) -> Result<Cas, StoreError> {
        self.check_key(key)?;
        match self.run(Op::Read(key.to_string())).await? {
            Out::Versioned(value, version) => Ok(Cas {
                key: key.to_string(),
                value,
                version,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Writes `value` if the key still holds what `cas` saw; else `Ok(Err(now))` with
    /// what it holds now, to retry with.
    pub async fn swap(&self, cas: &Cas, value: &[u8]) -> Result<Result<(), Cas>, StoreError> {
        self.check_value(&cas.key, value)?;
        let op = Op::Swap {
            key: cas.key.clone(),
            version: cas.version,
            value: value.to_vec(),
        };
        match self.run(op).await? {
            Out::Swapped(Ok(())) => Ok(Ok(())),
            Out::Swapped(Err((value, version))) => Ok(Err(Cas {
                key: cas.key.clone(),
                value,
                version,
            })),
            other => Err(unexpected(&other)),
        }
    }

    /// The values of `keys`, in their order, read in one snapshot.
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        for key in keys {
            self.check_key(key)?;
        }
        match self.run(Op::GetMany(keys.to_vec())).await? {
            Out::Values(values) => Ok(values),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets every pair in one transaction: all of them or none.
    pub async fn set_many(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        for (key, value) in entries {
            self.check_key(key)?;
            self.check_value(key, value)?;
        }
        self.done(Op::SetMany(entries.to_vec())).await
    }

    /// Deletes every key in one transaction.
    pub async fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.check_key(key)?;
        }
        self.done(Op::DeleteMany(keys.to_vec())).await
    }

    async fn done(&self, op: Op) -> Result<(), StoreError> {
        match self.run(op).await? {
            Out::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }
}

/// Submits `op` on `bucket` (a store's name, or a durable table's) to `backend` and
/// waits for the answer; `store` names the store if the backend drops the request.
async fn ask(
    backend: &dyn Backend,
    bucket: &Arc<str>,
    op: Op,
    store: &str,
) -> Result<Out, StoreError> {
    backend.submit(bucket, op).await.unwrap_or_else(|_| {
        Err(StoreError::Unavailable(format!(
            "store {store:?} was closed before it answered"
        )))
    })
}

fn unexpected(out: &Out) -> StoreError {
    StoreError::Failed(format!("the backend answered {out:?} to another operation"))
}

/// Where durable tables keep their rows: the backend of one declared store (its
/// `[storage] tables`), in rows of their own, apart from its key-value pairs.
#[derive(Clone)]
pub(crate) struct TableStore {
    /// The store's name, for errors.
    store: Arc<str>,
    backend: Arc<dyn Backend>,
    /// Each durable table name's gate (see `gate`).
    gates: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
}

impl fmt::Debug for TableStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TableStore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl TableStore {
    async fn run(&self, table: &str, op: Op) -> Result<Out, StoreError> {
        ask(&*self.backend, &Arc::from(table), op, &self.store).await
    }

    /// Every row stored for the durable table `table`, in key order.
    pub(crate) async fn load(&self, table: &str) -> Result<Rows, StoreError> {
        match self.run(table, Op::TableLoad).await? {
            Out::Rows(rows) => Ok(rows),
            other => Err(unexpected(&other)),
        }
    }

    /// The stored values of `keys` of the durable table `table`.
    pub(crate) async fn read(
        &self,
        table: &str,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        match self.run(table, Op::TableGet(keys)).await? {
            Out::Values(values) => Ok(values),
            other => Err(unexpected(&other)),
        }
    }

    /// The lock that orders the writes of the durable table `table` and its loading:
    /// one per name, so a table created again waits for the writes of the one
    /// before it.
    pub(crate) fn gate(&self, table: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.gates
            .lock()
            .unwrap()
            .entry(table.to_string())
            .or_default()
            .clone()
    }

    /// Writes `puts` and removes `deletes` in one transaction; durable on `Ok`.
    pub(crate) async fn write(
        &self,
        table: &str,
        puts: Rows,
        deletes: Vec<Vec<u8>>,
    ) -> Result<(), StoreError> {
        match self.run(table, Op::TableWrite { puts, deletes }).await? {
            Out::Done => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// The name of the store it writes to.
    pub(crate) fn store(&self) -> &str {
        &self.store
    }
}

/// The stores of one runtime, opened when it is built.
#[derive(Debug, Default)]
pub(crate) struct Stores {
    buckets: BTreeMap<String, Bucket>,
    /// The store of durable tables, if one is named.
    tables: Option<TableStore>,
    /// Each backend once (SQLite stores share one), to close.
    backends: Vec<Arc<dyn Backend>>,
}

impl Stores {
    /// Opens every store in `configs`. SQLite stores share one database under
    /// `data_dir`, opened only if one is declared.
    pub(crate) fn open(
        configs: &BTreeMap<String, StoreConfig>,
        table_store: Option<&str>,
        data_dir: &Path,
    ) -> Result<Stores, StoreError> {
        let mut sqlite: Option<Arc<dyn Backend>> = None;
        let mut backends: Vec<Arc<dyn Backend>> = Vec::new();
        let mut buckets = BTreeMap::new();
        for (name, config) in configs {
            let backend = match config {
                StoreConfig::Sqlite { .. } => match &sqlite {
                    Some(b) => b.clone(),
                    None => {
                        let b: Arc<dyn Backend> = Arc::new(sqlite::Sqlite::open(data_dir)?);
                        sqlite = Some(b.clone());
                        backends.push(b.clone());
                        b
                    }
                },
                StoreConfig::Postgres {
                    url,
                    password_env,
                    pool_size,
                    ..
                } => {
                    let b: Arc<dyn Backend> = Arc::new(postgres::Postgres::open(
                        name,
                        url,
                        password_env.as_deref(),
                        *pool_size,
                    )?);
                    backends.push(b.clone());
                    b
                }
            };
            buckets.insert(
                name.clone(),
                Bucket {
                    name: Arc::from(name.as_str()),
                    backend,
                    max_value: config.max_value(),
                },
            );
        }
        let tables = match table_store {
            Some(name) => {
                let bucket = buckets.get(name).ok_or_else(|| {
                    StoreError::NoSuchStore(format!(
                        "{name} (named as the store of durable tables)"
                    ))
                })?;
                Some(TableStore {
                    store: bucket.name.clone(),
                    backend: bucket.backend.clone(),
                    gates: Arc::default(),
                })
            }
            None => None,
        };
        Ok(Stores {
            buckets,
            tables,
            backends,
        })
    }

    /// Closes every store: what was submitted is done, later operations are
    /// refused, SQLite's directory is free for another process.
    pub(crate) async fn close(&self) {
        for backend in &self.backends {
            backend.close().await;
        }
    }

    /// The store of durable tables.
    pub(crate) fn tables(&self) -> Option<&TableStore> {
        self.tables.as_ref()
    }

    pub(crate) fn get(&self, name: &str) -> Result<Bucket, StoreError> {
        self.buckets
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::NoSuchStore(name.to_string()))
    }
}

/// The new value of the counter at `key` (stored as decimal text: `now`, if any) after
/// adding `delta`; every backend counts the same way.
pub(crate) fn counter(
    bucket: &str,
    key: &str,
    now: Option<&[u8]>,
    delta: i64,
) -> Result<i64, StoreError> {
    let current = match now {
        None => 0,
        Some(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "key {key:?} of store {bucket:?} does not hold a counter (decimal text of an s64); it holds {} bytes",
                    bytes.len()
                ))
            })?,
    };
    current.checked_add(delta).ok_or_else(|| {
        StoreError::Invalid(format!(
            "incrementing key {key:?} of store {bucket:?} ({current}) by {delta} overflows an s64"
        ))
    })
}

/// The data directory when none is configured: `$FOUNDATION_DATA_DIR`, else `data`
/// under `base`.
pub(crate) fn default_data_dir(base: &Path) -> PathBuf {
    match std::env::var_os("FOUNDATION_DATA_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => base.join("data"),
    }
}
