//! The embedded SQLite backend: one database (`foundation.db`, WAL mode,
//! `synchronous = FULL`) per data directory, held by one host process (a lock file),
//! written by one writer thread that commits everything queued behind a running commit
//! together (group commit), and read by reader threads of their own.

use std::fs::{File, TryLockError};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::{Answer, Backend, KeyPage, LIST_PAGE, Op, Out, StoreError};

/// Reader threads (and connections). Reads of a WAL database do not wait for the
/// writer or each other.
const READERS: usize = 2;
/// The most writes one commit takes; more wait for the next.
const MAX_GROUP: usize = 512;
/// How long the writer waits for more writes when fewer are queued than took part
/// in its last commit (PostgreSQL's `commit_delay` with `commit_siblings`): writers
/// that just got their answer are about to send their next write, and a commit that
/// leaves without them costs each of them a whole fsync more. A single writer never
/// waits.
const GATHER: std::time::Duration = std::time::Duration::from_micros(100);
/// Requests queued per thread before submitters are told the store is overloaded.
const QUEUE: usize = 65_536;

type Request = (Arc<str>, Op, oneshot::Sender<Result<Out, StoreError>>);

/// What the writer thread is sent: a write, or the order to finish and let go of the
/// directory (told on the sender once done).
enum Write {
    Op(Request),
    Close(oneshot::Sender<()>),
}

pub(crate) struct Sqlite {
    file: PathBuf,
    writer: SyncSender<Write>,
    readers: SyncSender<Request>,
    /// Set by `close`: reads are refused too from then on.
    closed: std::sync::atomic::AtomicBool,
    /// The writer thread: joined when the store closes, so its last commit is done
    /// and the directory's lock released when the runtime is gone.
    writer_thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        // Closing the queue ends the writer after what it holds.
        let (closed, _) = sync_channel(0);
        drop(std::mem::replace(&mut self.writer, closed));
        if let Some(thread) = self.writer_thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite").field("file", &self.file).finish()
    }
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS kv (
        bucket  TEXT    NOT NULL,
        key     TEXT    NOT NULL,
        value   BLOB    NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (bucket, key)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS table_rows (
        name  TEXT NOT NULL,
        key   BLOB NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID;
";

impl Sqlite {
    /// Opens (creating if needed) the database in `dir`, refusing a directory another
    /// process holds and a file that is not a SQLite database.
    pub(crate) fn open(dir: &Path) -> Result<Sqlite, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Failed(format!(
                "cannot create the data directory {}: {e}",
                dir.display()
            ))
        })?;
        let lock_path = dir.join("foundation.lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                StoreError::Failed(format!(
                    "cannot open the lock file {}: {e}",
                    lock_path.display()
                ))
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Unavailable(format!(
                    "the data directory {} is in use by another foundation process (it holds {}); \
                     two hosts cannot share one SQLite directory: give each its own \
                     ([storage] dir or $FOUNDATION_DATA_DIR), or use a postgres store",
                    dir.display(),
                    lock_path.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(StoreError::Failed(format!(
                    "cannot lock {}: {e}",
                    lock_path.display()
                )));
            }
        }
        let file = dir.join("foundation.db");
        let bad = |e: rusqlite::Error| {
            StoreError::Failed(format!(
                "cannot open the database {}: {e} (is it a SQLite database? move it away to start empty)",
                file.display()
            ))
        };
        let writer = Connection::open(&file).map_err(bad)?;
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;",
            )
            .map_err(bad)?;
        writer.execute_batch(SCHEMA).map_err(bad)?;
        // A version no write has had: higher than every version on disk.
        let next_version: i64 = writer
            .query_row("SELECT COALESCE(MAX(version), 0) + 1 FROM kv", [], |r| {
                r.get(0)
            })
            .map_err(bad)?;

        let (writer_tx, writer_rx) = sync_channel::<Write>(QUEUE);
        let name = format!("foundation-sqlite-writer {}", file.display());
        let writer_thread = std::thread::Builder::new()
            .name("foundation-sqlite-writer".into())
            .spawn(move || write_loop(writer, writer_rx, next_version as u64, lock))
            .map_err(|e| StoreError::Failed(format!("cannot start {name}: {e}")))?;

        let (reader_tx, reader_rx) = sync_channel::<Request>(QUEUE);
        let reader_rx = Arc::new(Mutex::new(reader_rx));
        for _ in 0..READERS {
            let conn = Connection::open_with_flags(
                &file,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(bad)?;
            conn.execute_batch("PRAGMA busy_timeout = 5000;")
                .map_err(bad)?;
            let rx = reader_rx.clone();
            std::thread::Builder::new()
                .name("foundation-sqlite-reader".into())
                .spawn(move || read_loop(conn, rx))
                .map_err(|e| StoreError::Failed(format!("cannot start a SQLite reader: {e}")))?;
        }
        Ok(Sqlite {
            file,
            writer: writer_tx,
            readers: reader_tx,
            closed: std::sync::atomic::AtomicBool::new(false),
            writer_thread: Some(writer_thread),
        })
    }
}

impl Backend for Sqlite {
    fn submit(&self, bucket: &Arc<str>, op: Op) -> Answer {
        let (tx, rx) = oneshot::channel();
        let request = (bucket.clone(), op, tx);
        // A refused request comes back with whether the queue was full (else closed).
        let refused = if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            Some((request, false))
        } else if request.1.writes() {
            match self.writer.try_send(Write::Op(request)) {
                Ok(()) => None,
                Err(TrySendError::Full(Write::Op(r))) => Some((r, true)),
                Err(TrySendError::Disconnected(Write::Op(r))) => Some((r, false)),
                Err(_) => None,
            }
        } else {
            match self.readers.try_send(request) {
                Ok(()) => None,
                Err(TrySendError::Full(r)) => Some((r, true)),
                Err(TrySendError::Disconnected(r)) => Some((r, false)),
            }
        };
        if let Some(((_, _, tx), full)) = refused {
            let why = if full {
                format!(
                    "the SQLite store {} has {QUEUE} operations queued; try again later",
                    self.file.display()
                )
            } else {
                format!("the SQLite store {} is closed", self.file.display())
            };
            let _ = tx.send(Err(StoreError::Unavailable(why)));
        }
        rx
    }

    fn close(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        let (done, closed) = oneshot::channel();
        let writer = self.writer.clone();
        Box::pin(async move {
            // Queued behind every write already submitted; a full queue drains.
            let sent = tokio::task::spawn_blocking(move || writer.send(Write::Close(done)))
                .await
                .is_ok_and(|r| r.is_ok());
            if sent {
                let _ = closed.await;
            }
        })
    }
}

fn failed(e: rusqlite::Error) -> StoreError {
    StoreError::Failed(e.to_string())
}

/// Takes the next request and everything queued behind it, commits them in one
/// transaction (each write in a savepoint of its own, so one that fails rolls back
/// alone), then answers them: one fsync for the whole group.
fn write_loop(mut conn: Connection, rx: Receiver<Write>, mut next_version: u64, lock: File) {
    let mut group: Vec<Request> = Vec::with_capacity(MAX_GROUP);
    let mut results: Vec<Result<Out, StoreError>> = Vec::with_capacity(MAX_GROUP);
    let mut close = None;
    // How many writes the last commit took: the writers likely to write again.
    let mut siblings = 1;
    while close.is_none() {
        match rx.recv() {
            Ok(Write::Op(first)) => group.push(first),
            Ok(Write::Close(done)) => {
                close = Some(done);
                break;
            }
            Err(_) => break,
        }
        let gather_until = std::time::Instant::now() + GATHER;
        while group.len() < MAX_GROUP {
            let next = match rx.try_recv() {
                Err(TryRecvError::Empty) if group.len() < siblings => {
                    let left = gather_until.saturating_duration_since(std::time::Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(w) => Ok(w),
                        Err(_) => break,
                    }
                }
                other => other,
            };
            match next {
                Ok(Write::Op(request)) => group.push(request),
                Ok(Write::Close(done)) => {
                    close = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        siblings = group.len();
        // An error before COMMIT rolls everything back; one from COMMIT itself (a
        // failed fsync) may leave the group in the WAL, to be replayed: unknown.
        let committed = (|| -> Result<(), (rusqlite::Error, bool)> {
            let before = |e| (e, false);
            let mut tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(before)?;
            for (bucket, op, _) in &group {
                let mut sp = tx.savepoint().map_err(before)?;
                let result = write(&sp, bucket, op, &mut next_version);
                if result.is_ok() {
                    sp.commit().map_err(before)?;
                } else {
                    sp.rollback().map_err(before)?;
                }
                results.push(result);
            }
            tx.commit().map_err(|e| (e, true))
        })();
        match committed {
            Ok(()) => {
                for ((_, _, reply), result) in group.drain(..).zip(results.drain(..)) {
                    let _ = reply.send(result);
                }
            }
            Err((e, at_commit)) => {
                tracing::error!(error = %e, at_commit, "a SQLite transaction failed");
                results.clear();
                for (_, _, reply) in group.drain(..) {
                    let _ = reply.send(Err(if at_commit {
                        StoreError::OutcomeUnknown(format!(
                            "the commit failed ({e}); SQLite may still replay it from its \
                             write-ahead log"
                        ))
                    } else {
                        StoreError::Failed(format!(
                            "the transaction failed, nothing was written: {e}"
                        ))
                    }));
                }
            }
        }
    }
    // Closed (or every sender gone): later submissions are refused, and whoever
    // closed it learns once the directory is free.
    drop(rx);
    drop(conn);
    drop(lock);
    if let Some(done) = close {
        let _ = done.send(());
    }
}

fn write(
    conn: &Connection,
    bucket: &str,
    op: &Op,
    next_version: &mut u64,
) -> Result<Out, StoreError> {
    let mut version = || {
        let v = *next_version;
        *next_version += 1;
        v as i64
    };
    const UPSERT: &str = "INSERT INTO kv (bucket, key, value, version) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, version = excluded.version";
    const DELETE: &str = "DELETE FROM kv WHERE bucket = ?1 AND key = ?2";
    match op {
        Op::Set(key, value) => {
            conn.prepare_cached(UPSERT)
                .and_then(|mut s| s.execute(params![bucket, key, value, version()]))
                .map_err(failed)?;
            Ok(Out::Done)
        }
        Op::Delete(key) => {
            conn.prepare_cached(DELETE)
                .and_then(|mut s| s.execute(params![bucket, key]))
                .map_err(failed)?;
            Ok(Out::Done)
        }
        Op::SetMany(entries) => {
            let mut s = conn.prepare_cached(UPSERT).map_err(failed)?;
            for (key, value) in entries {
                s.execute(params![bucket, key, value, version()])
                    .map_err(failed)?;
            }
            Ok(Out::Done)
        }
        Op::DeleteMany(keys) => {
            let mut s = conn.prepare_cached(DELETE).map_err(failed)?;
            for key in keys {
                s.execute(params![bucket, key]).map_err(failed)?;
            }
            Ok(Out::Done)
        }
        Op::Increment(key, delta) => {
            let now = read(conn, bucket, key)?.map(|(v, _)| v);
            let n = super::counter(bucket, key, now.as_deref(), *delta)?;
            conn.prepare_cached(UPSERT)
                .and_then(|mut s| {
                    s.execute(params![bucket, key, n.to_string().as_bytes(), version()])
                })
                .map_err(failed)?;
            Ok(Out::Int(n))
        }
        Op::Swap {
            key,
            version: expected,
            value,
        } => {
            let now = read(conn, bucket, key)?;
            let now_version = now.as_ref().map_or(0, |(_, v)| *v);
            if now_version != *expected {
                let (value, version) = now.map_or((None, 0), |(v, n)| (Some(v), n));
                return Ok(Out::Swapped(Err((value, version))));
            }
            conn.prepare_cached(UPSERT)
                .and_then(|mut s| s.execute(params![bucket, key, value, version()]))
                .map_err(failed)?;
            Ok(Out::Swapped(Ok(())))
        }
        Op::TableWrite { puts, deletes } => {
            let mut put = conn
                .prepare_cached(
                    "INSERT INTO table_rows (name, key, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                )
                .map_err(failed)?;
            for (key, value) in puts {
                put.execute(params![bucket, key, value]).map_err(failed)?;
            }
            let mut delete = conn
                .prepare_cached("DELETE FROM table_rows WHERE name = ?1 AND key = ?2")
                .map_err(failed)?;
            for key in deletes {
                delete.execute(params![bucket, key]).map_err(failed)?;
            }
            Ok(Out::Done)
        }
        _ => Err(StoreError::Failed(format!("{op:?} is not a write"))),
    }
}

fn read(conn: &Connection, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, u64)>, StoreError> {
    conn.prepare_cached("SELECT value, version FROM kv WHERE bucket = ?1 AND key = ?2")
        .and_then(|mut s| {
            s.query_row(params![bucket, key], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .optional()
        })
        .map_err(failed)
}

fn read_loop(mut conn: Connection, rx: Arc<Mutex<Receiver<Request>>>) {
    loop {
        // Hold the lock only to take one request.
        let request = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((bucket, op, reply)) = request else {
            return;
        };
        let _ = reply.send(answer(&mut conn, &bucket, &op));
    }
}

fn answer(conn: &mut Connection, bucket: &str, op: &Op) -> Result<Out, StoreError> {
    match op {
        Op::Get(key) => Ok(Out::Value(read(conn, bucket, key)?.map(|(v, _)| v))),
        Op::Exists(key) => conn
            .prepare_cached("SELECT 1 FROM kv WHERE bucket = ?1 AND key = ?2")
            .and_then(|mut s| s.exists(params![bucket, key]))
            .map(Out::Bool)
            .map_err(failed),
        Op::Read(key) => {
            let now = read(conn, bucket, key)?;
            Ok(match now {
                Some((v, n)) => Out::Versioned(Some(v), n),
                None => Out::Versioned(None, 0),
            })
        }
        Op::List(cursor) => {
            let mut s = conn
                .prepare_cached(
                    "SELECT key FROM kv WHERE bucket = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
                )
                .map_err(failed)?;
            // One more than a page tells whether another page follows.
            let mut keys: Vec<String> = s
                .query_map(
                    params![
                        bucket,
                        cursor.as_deref().unwrap_or(""),
                        LIST_PAGE as i64 + 1
                    ],
                    |r| r.get(0),
                )
                .and_then(|rows| rows.collect())
                .map_err(failed)?;
            let cursor = if keys.len() > LIST_PAGE {
                keys.truncate(LIST_PAGE);
                keys.last().cloned()
            } else {
                None
            };
            Ok(Out::Keys(KeyPage { keys, cursor }))
        }
        Op::GetMany(keys) => {
            // One read transaction: one snapshot for every key.
            let tx = conn.transaction().map_err(failed)?;
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(read(&tx, bucket, key)?.map(|(v, _)| v));
            }
            tx.finish().map_err(failed)?;
            Ok(Out::Values(values))
        }
        Op::TableGet(keys) => {
            let tx = conn.transaction().map_err(failed)?;
            let mut values = Vec::with_capacity(keys.len());
            {
                let mut s = tx
                    .prepare_cached("SELECT value FROM table_rows WHERE name = ?1 AND key = ?2")
                    .map_err(failed)?;
                for key in keys {
                    values.push(
                        s.query_row(params![bucket, key], |r| r.get(0))
                            .optional()
                            .map_err(failed)?,
                    );
                }
            }
            tx.finish().map_err(failed)?;
            Ok(Out::Values(values))
        }
        Op::TableLoad => conn
            .prepare_cached("SELECT key, value FROM table_rows WHERE name = ?1 ORDER BY key")
            .and_then(|mut s| {
                s.query_map(params![bucket], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
            })
            .map(Out::Rows)
            .map_err(failed),
        _ => Err(StoreError::Failed(format!("{op:?} is not a read"))),
    }
}
