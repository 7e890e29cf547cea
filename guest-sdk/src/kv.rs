//! Durable key-value stores through the standard `wasi:keyvalue` interfaces: state
//! that survives the actor, its restarts and the host process. See
//! docs/semantics.md, "Durable state".
//!
//! ```no_run
//! use foundation_sdk::kv::Bucket;
//! // The actor must be granted the store: `capabilities.keyvalue = ["accounts"]`.
//! let accounts = Bucket::open("accounts").unwrap();
//! accounts.set("alice", &100u64).unwrap();          // durable once it returns
//! let balance: Option<u64> = accounts.get("alice").unwrap();
//! let visits = accounts.increment("visits", 1).unwrap();
//! // Read-modify-write without a lost update, retried on conflict:
//! let now: u64 = accounts.update("alice", |old: Option<u64>| old.unwrap_or(0) + 5).unwrap();
//! # let _ = (balance, visits, now);
//! ```
//!
//! Typed values use the message codec (MessagePack); `*_raw` methods take and give
//! bytes, for values another program writes. Counters ([`Bucket::increment`]) are
//! decimal text, as the host stores them: read them with `get_raw` or `increment(key,
//! 0)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::wasi::keyvalue::{atomics, batch, store};
use crate::codec;

pub use store::Error as StoreError;

/// A store operation or a value's encoding failed.
#[derive(Debug, Clone)]
pub enum KvError {
    /// The store refused or failed the operation.
    Store(StoreError),
    /// The value could not be encoded, or the stored bytes do not decode as the type
    /// asked for.
    Codec(String),
}

impl std::fmt::Display for KvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvError::Store(StoreError::NoSuchStore) => f.write_str("no-such-store"),
            KvError::Store(StoreError::AccessDenied) => f.write_str("access-denied"),
            KvError::Store(StoreError::Other(m)) => f.write_str(m),
            KvError::Codec(m) => write!(f, "codec: {m}"),
        }
    }
}

impl std::error::Error for KvError {}

impl From<StoreError> for KvError {
    fn from(e: StoreError) -> Self {
        KvError::Store(e)
    }
}

/// One page of keys: the keys in order, and where the next page starts.
pub type KeyPage = store::KeyResponse;

/// An open store.
#[derive(Debug)]
pub struct Bucket(store::Bucket);

impl Bucket {
    /// Opens the store `name`: `access-denied` if this actor was not granted it,
    /// `no-such-store` if no store of that name is declared.
    pub fn open(name: &str) -> Result<Bucket, StoreError> {
        store::open(name).map(Bucket)
    }

    /// The value at `key`, decoded as `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, KvError> {
        match self.0.get(key)? {
            Some(bytes) => codec::decode(&bytes).map(Some).map_err(KvError::Codec),
            None => Ok(None),
        }
    }

    /// Sets `key` to `value`, encoded.
    pub fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), KvError> {
        let bytes = codec::encode(value).map_err(KvError::Codec)?;
        Ok(self.0.set(key, &bytes)?)
    }

    /// The bytes at `key`.
    pub fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(key)
    }

    /// Sets `key` to `bytes`.
    pub fn set_raw(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.0.set(key, bytes)
    }

    /// Deletes `key` (no error if it is absent).
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key)
    }

    /// Whether `key` has a value.
    pub fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.0.exists(key)
    }

    /// One page of keys in order, after `cursor` (`None` for the first page).
    pub fn list_keys(&self, cursor: Option<&str>) -> Result<KeyPage, StoreError> {
        self.0.list_keys(cursor)
    }

    /// Every key, in order, page by page.
    pub fn keys(&self) -> Keys<'_> {
        Keys {
            bucket: self,
            page: Vec::new().into_iter(),
            cursor: None,
            done: false,
        }
    }

    /// Adds `delta` to the counter at `key` (0 if absent) and returns the new value,
    /// atomically.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(&self.0, key, delta)
    }

    /// Reads `key` for a compare-and-swap ([`Cas::swap`]).
    pub fn cas(&self, key: &str) -> Result<Cas, StoreError> {
        atomics::Cas::new(&self.0, key).map(Cas)
    }

    /// Replaces the value at `key` with `f(old)`, retrying when another writer got
    /// there first; returns what it wrote. `f` may run more than once.
    pub fn update<T, F>(&self, key: &str, mut f: F) -> Result<T, KvError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> T,
    {
        let mut cas = self.cas(key)?;
        loop {
            let old = match cas.current()? {
                Some(bytes) => Some(codec::decode(&bytes).map_err(KvError::Codec)?),
                None => None,
            };
            let new = f(old);
            let bytes = codec::encode(&new).map_err(KvError::Codec)?;
            match cas.swap(&bytes) {
                Ok(()) => return Ok(new),
                Err(CasError::Conflict(now)) => cas = now,
                Err(CasError::Store(e)) => return Err(e.into()),
            }
        }
    }

    /// The values of `keys`, in their order, read in one snapshot.
    pub fn get_many<T: DeserializeOwned>(&self, keys: &[&str]) -> Result<Vec<Option<T>>, KvError> {
        self.get_many_raw(keys)?
            .into_iter()
            .map(|v| match v {
                Some(bytes) => codec::decode(&bytes).map(Some).map_err(KvError::Codec),
                None => Ok(None),
            })
            .collect()
    }

    /// The bytes at each of `keys`, in their order, read in one snapshot.
    pub fn get_many_raw(&self, keys: &[&str]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let owned: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        Ok(batch::get_many(&self.0, &owned)?
            .into_iter()
            .map(|entry| entry.map(|(_, v)| v))
            .collect())
    }

    /// Sets every pair, encoded, in one transaction: all of them or none.
    pub fn set_many<T: Serialize>(&self, entries: &[(&str, T)]) -> Result<(), KvError> {
        let encoded = entries
            .iter()
            .map(|(k, v)| Ok((k.to_string(), codec::encode(v).map_err(KvError::Codec)?)))
            .collect::<Result<Vec<_>, KvError>>()?;
        Ok(batch::set_many(&self.0, &encoded)?)
    }

    /// Sets every pair of bytes in one transaction.
    pub fn set_many_raw(&self, entries: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        batch::set_many(&self.0, entries)
    }

    /// Deletes every key in one transaction.
    pub fn delete_many(&self, keys: &[&str]) -> Result<(), StoreError> {
        let owned: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        batch::delete_many(&self.0, &owned)
    }
}

/// Every key of a bucket, from [`Bucket::keys`].
#[derive(Debug)]
pub struct Keys<'a> {
    bucket: &'a Bucket,
    page: std::vec::IntoIter<String>,
    cursor: Option<String>,
    done: bool,
}

impl Iterator for Keys<'_> {
    type Item = Result<String, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(key) = self.page.next() {
                return Some(Ok(key));
            }
            if self.done {
                return None;
            }
            match self.bucket.list_keys(self.cursor.as_deref()) {
                Ok(page) => {
                    self.done = page.cursor.is_none();
                    self.cursor = page.cursor;
                    self.page = page.keys.into_iter();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// A compare-and-swap in progress: what the key held when it was read.
#[derive(Debug)]
pub struct Cas(atomics::Cas);

/// Why a [`Cas::swap`] did not write.
#[derive(Debug)]
pub enum CasError {
    /// Another write came first; this handle holds what the key holds now.
    Conflict(Cas),
    /// The store failed.
    Store(StoreError),
}

impl Cas {
    /// The value the key held when this handle was made (`None`: absent).
    pub fn current(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.current()
    }

    /// Writes `value` if no write came between this handle's read and now.
    pub fn swap(self, value: &[u8]) -> Result<(), CasError> {
        atomics::swap(self.0, value).map_err(|e| match e {
            atomics::CasError::CasFailed(now) => CasError::Conflict(Cas(now)),
            atomics::CasError::StoreError(e) => CasError::Store(e),
        })
    }
}
