//! The PostgreSQL backend: stores shared by every host that names the same database.
//! One table (`foundation_kv`, keys in byte order) and one sequence for versions,
//! created on first use; a pool of connections (deadpool) that reconnects by itself;
//! each operation one statement or one transaction on the server, run as a task on the
//! runtime, never on the caller's thread.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{OnceCell, oneshot};
use tokio_postgres::NoTls;

use super::{Answer, Backend, KeyPage, LIST_PAGE, Op, Out, StoreError, counter};

/// How long an operation waits for a connection (and a new connection for the
/// server) before `unavailable`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest one operation may take, connection included: past it the caller gets
/// `unavailable` (a read) or `outcome-unknown` (a write).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
    SELECT pg_advisory_xact_lock(7262150951);
    CREATE TABLE IF NOT EXISTS foundation_kv (
        bucket  TEXT COLLATE \"C\" NOT NULL,
        key     TEXT COLLATE \"C\" NOT NULL,
        value   BYTEA  NOT NULL,
        version BIGINT NOT NULL,
        PRIMARY KEY (bucket, key)
    );
    CREATE SEQUENCE IF NOT EXISTS foundation_kv_version;
    CREATE TABLE IF NOT EXISTS foundation_table_rows (
        name  TEXT  NOT NULL,
        key   BYTEA NOT NULL,
        value BYTEA NOT NULL,
        PRIMARY KEY (name, key)
    );
";

pub(crate) struct Postgres {
    /// The store's name, for errors (never the URL: it may hold a password).
    name: String,
    pool: Pool,
    /// Set once the schema exists; tried again on the next operation if it failed.
    ready: Arc<OnceCell<()>>,
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("store", &self.name)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// A pool for `url` (with the password from `password_env`, if named). Connects
    /// lazily: a database that is down now fails operations, not the start.
    pub(crate) fn open(
        name: &str,
        url: &str,
        password_env: Option<&str>,
        pool_size: usize,
    ) -> Result<Postgres, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Failed(format!(
                "store {name:?}: the postgres url does not parse: {e}"
            ))
        })?;
        if let Some(var) = password_env {
            let password = std::env::var(var).map_err(|_| {
                StoreError::Failed(format!(
                    "store {name:?}: password_env names {var}, which is not set"
                ))
            })?;
            config.password(password);
        }
        config.connect_timeout(CONNECT_TIMEOUT);
        // A connection cut without a reset (no RST, a dead peer) is noticed by TCP
        // within OPERATION_TIMEOUT instead of hanging an operation for good.
        config.keepalives_idle(Duration::from_secs(10));
        config.tcp_user_timeout(OPERATION_TIMEOUT);
        config.application_name("foundation");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Failed(format!("store {name:?}: {e}")))?;
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            StoreError::Failed(format!(
                "store {name:?}: a postgres store opens within a tokio runtime"
            ))
        })?;
        Ok(Postgres {
            name: name.to_string(),
            pool,
            ready: Arc::new(OnceCell::new()),
            handle,
        })
    }
}

impl Backend for Postgres {
    fn submit(&self, bucket: &Arc<str>, op: Op) -> Answer {
        let (tx, rx) = oneshot::channel();
        let pool = self.pool.clone();
        let ready = self.ready.clone();
        let bucket = bucket.clone();
        self.handle.spawn(async move {
            let writes = op.writes();
            let what = match op {
                Op::TableLoad | Op::TableWrite { .. } => format!("durable table {bucket:?}"),
                _ => format!("store {bucket:?}"),
            };
            let result = tokio::time::timeout(OPERATION_TIMEOUT, run(&pool, &ready, &bucket, op))
                .await
                .unwrap_or_else(|_| Err(Fault::Timeout));
            let result = result.map_err(|fault| {
                if let Fault::Db(e) = &fault
                    && session_ended(e)
                {
                    // One session ended (a server restart, a network cut): the idle
                    // ones likely did too. Drop them all, so the next operation
                    // connects afresh instead of finding them dead one by one.
                    pool.retain(|_, _| false);
                }
                error(&what, writes, fault)
            });
            let _ = tx.send(result);
        });
        rx
    }

    fn close(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        self.pool.close();
        Box::pin(std::future::ready(()))
    }
}

/// Why an operation failed, before it is told to the caller.
enum Fault {
    /// No connection could be had: nothing was sent.
    Pool(deadpool_postgres::PoolError),
    Db(tokio_postgres::Error),
    Store(StoreError),
    /// `OPERATION_TIMEOUT` passed.
    Timeout,
}

impl From<tokio_postgres::Error> for Fault {
    fn from(e: tokio_postgres::Error) -> Self {
        Fault::Db(e)
    }
}

/// The error of a failed operation on `what` (a store or a durable table).
fn error(what: &str, writes: bool, fault: Fault) -> StoreError {
    match fault {
        Fault::Pool(e) => StoreError::Unavailable(format!(
            "{what}: cannot reach PostgreSQL: {e}; nothing was done"
        )),
        Fault::Db(e) => match e.as_db_error() {
            // The server refused the statement and rolled it back; the session lives.
            Some(db) if !session_ended(&e) => {
                StoreError::Failed(format!("{what}: PostgreSQL refused the operation: {db}"))
            }
            // The session ended (the server shut it, the network broke): the pool
            // connects afresh on the next operation.
            _ if writes => StoreError::OutcomeUnknown(format!(
                "{what}: the connection to PostgreSQL failed during the write: {e}; \
                 it may or may not have been committed"
            )),
            _ => StoreError::Unavailable(format!(
                "{what}: the connection to PostgreSQL failed: {e}; nothing was written"
            )),
        },
        Fault::Store(e) => e,
        Fault::Timeout if writes => StoreError::OutcomeUnknown(format!(
            "{what}: PostgreSQL did not answer within {OPERATION_TIMEOUT:?}; the write may or \
             may not have been committed"
        )),
        Fault::Timeout => StoreError::Unavailable(format!(
            "{what}: PostgreSQL did not answer within {OPERATION_TIMEOUT:?}"
        )),
    }
}

/// Whether `e` ended its session (not a statement the server refused and rolled back).
fn session_ended(e: &tokio_postgres::Error) -> bool {
    let io = std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>());
    e.is_closed()
        || io
        || e.as_db_error()
            .is_some_and(|db| matches!(db.severity(), "FATAL" | "PANIC"))
}

const UPSERT: &str = "INSERT INTO foundation_kv (bucket, key, value, version)
    VALUES ($1, $2, $3, nextval('foundation_kv_version'))
    ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value, version = excluded.version";
const READ: &str = "SELECT value, version FROM foundation_kv WHERE bucket = $1 AND key = $2";

async fn run(pool: &Pool, ready: &OnceCell<()>, bucket: &str, op: Op) -> Result<Out, Fault> {
    let mut client = pool.get().await.map_err(Fault::Pool)?;
    ready
        .get_or_try_init(|| async {
            let tx = client.transaction().await?;
            tx.batch_execute(SCHEMA).await?;
            tx.commit().await
        })
        .await?;
    let read = |row: Option<tokio_postgres::Row>| {
        row.map_or((None, 0), |r| {
            (Some(r.get::<_, Vec<u8>>(0)), r.get::<_, i64>(1) as u64)
        })
    };
    Ok(match op {
        Op::Get(key) => {
            let s = client.prepare_cached(READ).await?;
            Out::Value(
                client
                    .query_opt(&s, &[&bucket, &key])
                    .await?
                    .map(|r| r.get(0)),
            )
        }
        Op::Exists(key) => {
            let s = client
                .prepare_cached("SELECT 1 FROM foundation_kv WHERE bucket = $1 AND key = $2")
                .await?;
            Out::Bool(client.query_opt(&s, &[&bucket, &key]).await?.is_some())
        }
        Op::Read(key) => {
            let s = client.prepare_cached(READ).await?;
            let (value, version) = read(client.query_opt(&s, &[&bucket, &key]).await?);
            Out::Versioned(value, version)
        }
        Op::List(cursor) => {
            let s = client
                .prepare_cached(
                    "SELECT key FROM foundation_kv WHERE bucket = $1 AND key > $2
                     ORDER BY key LIMIT $3",
                )
                .await?;
            let after = cursor.unwrap_or_default();
            let rows = client
                .query(&s, &[&bucket, &after, &(LIST_PAGE as i64 + 1)])
                .await?;
            let mut keys: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
            let cursor = if keys.len() > LIST_PAGE {
                keys.truncate(LIST_PAGE);
                keys.last().cloned()
            } else {
                None
            };
            Out::Keys(KeyPage { keys, cursor })
        }
        Op::GetMany(keys) => {
            // One statement: one snapshot.
            let s = client
                .prepare_cached(
                    "SELECT key, value FROM foundation_kv WHERE bucket = $1 AND key = ANY($2)",
                )
                .await?;
            let rows = client.query(&s, &[&bucket, &keys]).await?;
            let found: std::collections::HashMap<String, Vec<u8>> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            Out::Values(keys.iter().map(|k| found.get(k).cloned()).collect())
        }
        Op::Set(key, value) => {
            let s = client.prepare_cached(UPSERT).await?;
            client.execute(&s, &[&bucket, &key, &value]).await?;
            Out::Done
        }
        Op::Delete(key) => {
            let s = client
                .prepare_cached("DELETE FROM foundation_kv WHERE bucket = $1 AND key = $2")
                .await?;
            client.execute(&s, &[&bucket, &key]).await?;
            Out::Done
        }
        Op::SetMany(entries) => {
            // One statement, so all or nothing; the last value of a key given twice
            // wins, as it would written one by one.
            let mut last: std::collections::BTreeMap<&str, &[u8]> = Default::default();
            for (k, v) in &entries {
                last.insert(k, v);
            }
            let keys: Vec<&str> = last.keys().copied().collect();
            let values: Vec<&[u8]> = last.values().copied().collect();
            let s = client
                .prepare_cached(
                    "INSERT INTO foundation_kv (bucket, key, value, version)
                     SELECT $1, k, v, nextval('foundation_kv_version')
                     FROM UNNEST($2::text[], $3::bytea[]) AS t(k, v)
                     ON CONFLICT (bucket, key) DO UPDATE
                     SET value = excluded.value, version = excluded.version",
                )
                .await?;
            client.execute(&s, &[&bucket, &keys, &values]).await?;
            Out::Done
        }
        Op::DeleteMany(keys) => {
            let s = client
                .prepare_cached("DELETE FROM foundation_kv WHERE bucket = $1 AND key = ANY($2)")
                .await?;
            client.execute(&s, &[&bucket, &keys]).await?;
            Out::Done
        }
        Op::TableLoad => {
            let rows = client
                .query(
                    "SELECT key, value FROM foundation_table_rows WHERE name = $1 ORDER BY key",
                    &[&bucket],
                )
                .await?;
            Out::Rows(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        }
        Op::TableGet(keys) => {
            let rows = client
                .query(
                    "SELECT key, value FROM foundation_table_rows WHERE name = $1 AND key = ANY($2)",
                    &[&bucket, &keys],
                )
                .await?;
            let found: std::collections::HashMap<Vec<u8>, Vec<u8>> =
                rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            Out::Values(keys.iter().map(|k| found.get(k).cloned()).collect())
        }
        Op::TableWrite { puts, deletes } => {
            let tx = client.transaction().await?;
            let put = tx
                .prepare_cached(
                    "INSERT INTO foundation_table_rows (name, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                )
                .await?;
            for (key, value) in &puts {
                tx.execute(&put, &[&bucket, key, value]).await?;
            }
            let delete = tx
                .prepare_cached("DELETE FROM foundation_table_rows WHERE name = $1 AND key = $2")
                .await?;
            for key in &deletes {
                tx.execute(&delete, &[&bucket, key]).await?;
            }
            tx.commit().await?;
            Out::Done
        }
        Op::Increment(key, delta) => {
            // The row exists (0 if it did not) and is locked for this transaction, so
            // concurrent increments on any host serialise on it.
            let tx = client.transaction().await?;
            // A delete committed between the two statements leaves no row to lock
            // (each statement sees the latest commit): insert it again.
            let mut row = None;
            for _ in 0..3 {
                tx.execute(
                    "INSERT INTO foundation_kv (bucket, key, value, version)
                     VALUES ($1, $2, '0', nextval('foundation_kv_version'))
                     ON CONFLICT (bucket, key) DO NOTHING",
                    &[&bucket, &key],
                )
                .await?;
                row = tx
                    .query_opt(
                        "SELECT value FROM foundation_kv WHERE bucket = $1 AND key = $2 FOR UPDATE",
                        &[&bucket, &key],
                    )
                    .await?;
                if row.is_some() {
                    break;
                }
            }
            let Some(row) = row else {
                return Err(Fault::Store(StoreError::Failed(format!(
                    "increment of key {key:?}: the key was deleted under it three times; \
                     nothing was written"
                ))));
            };
            let now: Vec<u8> = row.get(0);
            let n = counter(bucket, &key, Some(&now), delta).map_err(Fault::Store)?;
            tx.execute(
                "UPDATE foundation_kv SET value = $3, version = nextval('foundation_kv_version')
                 WHERE bucket = $1 AND key = $2",
                &[&bucket, &key, &n.to_string().into_bytes()],
            )
            .await?;
            tx.commit().await?;
            Out::Int(n)
        }
        Op::Swap {
            key,
            version,
            value,
        } => {
            let written = if version == 0 {
                client
                    .execute(
                        "INSERT INTO foundation_kv (bucket, key, value, version)
                         VALUES ($1, $2, $3, nextval('foundation_kv_version'))
                         ON CONFLICT (bucket, key) DO NOTHING",
                        &[&bucket, &key, &value],
                    )
                    .await?
            } else {
                client
                    .execute(
                        "UPDATE foundation_kv SET value = $3, version = nextval('foundation_kv_version')
                         WHERE bucket = $1 AND key = $2 AND version = $4",
                        &[&bucket, &key, &value, &(version as i64)],
                    )
                    .await?
            };
            if written == 1 {
                Out::Swapped(Ok(()))
            } else {
                let s = client.prepare_cached(READ).await?;
                Out::Swapped(Err(read(client.query_opt(&s, &[&bucket, &key]).await?)))
            }
        }
    })
}
