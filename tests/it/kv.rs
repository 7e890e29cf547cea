//! Durable key-value stores (the durable-state issue): every `wasi:keyvalue`
//! operation from a guest, grants, limits, atomics under concurrent writers, and the
//! faults a store refuses with a clear error. The kill -9 proof is in `cli`.

use foundation::{Capabilities, StoreConfig};

use crate::*;

async fn kv(actor: &ActorRef, op: KvCall) -> Reply {
    call(actor, Call::Kv(op)).await
}

fn text(r: Reply) -> String {
    match r {
        Reply::Text(t) => t,
        other => panic!("expected a result, got {other:?}"),
    }
}

fn err(r: Reply) -> String {
    match r {
        Reply::Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Where a test's stores live.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn config(self) -> StoreConfig {
        match self {
            Backend::Sqlite => StoreConfig::sqlite(),
            Backend::Postgres => postgres_config(&foundation_fixtures::postgres::server().url()),
        }
    }
}

/// A postgres store config with the test server's password variable.
fn postgres_config(url: &str) -> StoreConfig {
    StoreConfig::postgres(url).password_env(foundation_fixtures::postgres::PASSWORD_ENV)
}

/// A runtime whose data directory is fresh, with stores `{name}-orders` (values up to
/// 1 KiB) and `{name}-other` on `backend` (names unique per test: the PostgreSQL
/// server is shared by the tests).
struct Fixture {
    rt: Runtime,
    orders: String,
    other: String,
}

fn store_runtime(name: &str, backend: Backend) -> Fixture {
    let dir = scratch(name);
    let orders = format!("{name}-orders");
    let other = format!("{name}-other");
    let mut b = builder();
    b.data_dir(&dir)
        .store(&orders, backend.config().max_value_size(1024))
        .store(&other, backend.config());
    Fixture {
        rt: runtime_with(&b),
        orders,
        other,
    }
}

async fn granted(rt: &Runtime, stores: &[&str]) -> ActorRef {
    let capabilities = stores
        .iter()
        .fold(Capabilities::default(), |c, s| c.keyvalue(s));
    spawn_in(rt, capabilities).await
}

fn s(text: &str) -> String {
    text.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_operation_from_a_guest() {
    every_operation(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_operation_from_a_guest_on_postgres() {
    every_operation(Backend::Postgres).await;
}

async fn every_operation(backend: Backend) {
    let f = store_runtime(&format!("kv-ops-{backend:?}"), backend);
    let rt = &f.rt;
    let a = granted(rt, &[&f.orders, "ghost"]).await;
    let orders = || f.orders.clone();

    // Grants: not granted is access-denied, granted but undeclared no-such-store.
    assert_eq!(
        err(kv(&a, KvCall::Open(f.other.clone())).await),
        "access-denied"
    );
    assert_eq!(err(kv(&a, KvCall::Open(s("ghost"))).await), "no-such-store");
    assert_eq!(text(kv(&a, KvCall::Open(orders())).await), "()");

    // store: set, get, exists, delete.
    let set = |key: &str, value| KvCall::Set {
        store: orders(),
        key: s(key),
        value,
    };
    assert_eq!(text(kv(&a, set("a", 7)).await), "()");
    let get = |key: &str| KvCall::Get {
        store: orders(),
        key: s(key),
    };
    assert_eq!(text(kv(&a, get("a")).await), "Some(7)");
    assert_eq!(text(kv(&a, get("nothing")).await), "None");
    let exists = |key: &str| KvCall::Exists {
        store: orders(),
        key: s(key),
    };
    assert_eq!(text(kv(&a, exists("a")).await), "true");
    let delete = |key: &str| KvCall::Delete {
        store: orders(),
        key: s(key),
    };
    assert_eq!(text(kv(&a, delete("a")).await), "()");
    assert_eq!(text(kv(&a, exists("a")).await), "false");
    assert_eq!(
        text(kv(&a, delete("a")).await),
        "()",
        "deleting an absent key"
    );

    // What a guest writes, Rust reads, and the other way round.
    let bucket = rt.store(&f.orders).unwrap();
    assert_eq!(text(kv(&a, set("b", 9)).await), "()");
    assert_eq!(
        bucket.get("b").await.unwrap(),
        Some(foundation::codec::encode(&9u64).unwrap())
    );
    bucket.set("from-rust", b"hello").await.unwrap();
    let raw = KvCall::GetRaw {
        store: orders(),
        key: s("from-rust"),
    };
    assert_eq!(text(kv(&a, raw).await), "Some(\"hello\")");

    // Limits: keys of 1 to 4096 bytes, values up to the store's max_value_size.
    let long = "k".repeat(4097);
    let e = err(kv(&a, set(&long, 1)).await);
    assert!(
        e.starts_with("too-large") && e.contains("4097 bytes"),
        "{e}"
    );
    let e = err(kv(&a, set("", 1)).await);
    assert!(e.starts_with("too-large") && e.contains("empty key"), "{e}");
    let big = KvCall::SetRaw {
        store: orders(),
        key: s("big"),
        bytes: vec![0; 1025],
    };
    let e = err(kv(&a, big).await);
    assert!(
        e.contains("1025 bytes") && e.contains("max_value_size of 1024"),
        "{e}"
    );
    assert_eq!(text(kv(&a, exists("big")).await), "false");

    // batch: get-many in order, set-many and delete-many.
    let entries = vec![(s("m1"), 1), (s("m2"), 2), (s("m3"), 3)];
    let set_many = KvCall::SetMany {
        store: orders(),
        entries,
    };
    assert_eq!(text(kv(&a, set_many).await), "()");
    let get_many = |keys: &[&str]| KvCall::GetMany {
        store: orders(),
        keys: keys.iter().map(|k| s(k)).collect(),
    };
    assert_eq!(
        text(kv(&a, get_many(&["m3", "none", "m1"])).await),
        "[Some(3), None, Some(1)]"
    );
    let delete_many = KvCall::DeleteMany {
        store: orders(),
        keys: vec![s("m1"), s("m3")],
    };
    assert_eq!(text(kv(&a, delete_many).await), "()");
    assert_eq!(
        text(kv(&a, get_many(&["m1", "m2", "m3"])).await),
        "[None, Some(2), None]"
    );
    // A batch with one value too large writes none of it.
    let bad_batch = vec![(s("n1"), vec![1u8]), (s("n2"), vec![0u8; 2000])];
    let e = bucket.set_many(&bad_batch).await.unwrap_err();
    assert!(e.to_string().starts_with("too-large"), "{e}");
    assert_eq!(bucket.get("n1").await.unwrap(), None, "all or nothing");

    // atomics: increment (a counter is decimal text), its errors, compare-and-swap.
    let incr = |key: &str, delta, times| KvCall::Increment {
        store: orders(),
        key: s(key),
        delta,
        times,
    };
    assert_eq!(text(kv(&a, incr("n", 5, 1)).await), "Some(5)");
    assert_eq!(text(kv(&a, incr("n", -7, 1)).await), "Some(-2)");
    assert_eq!(bucket.get("n").await.unwrap().as_deref(), Some(&b"-2"[..]));
    let e = err(kv(&a, incr("from-rust", 1, 1)).await);
    assert!(e.contains("does not hold a counter"), "{e}");
    bucket
        .set("max", i64::MAX.to_string().as_bytes())
        .await
        .unwrap();
    let e = err(kv(&a, incr("max", 1, 1)).await);
    assert!(e.contains("overflows"), "{e}");
    let conflict = KvCall::CasConflict {
        store: orders(),
        key: s("c"),
    };
    assert_eq!(
        text(kv(&a, conflict).await),
        "(None, \"conflict, now Some(\\\"between\\\"); retry swapped\")"
    );
    assert_eq!(
        bucket.get("c").await.unwrap().as_deref(),
        Some(&b"mine"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_keys_pages_through_every_key_in_order() {
    list_keys(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_keys_pages_through_every_key_in_order_on_postgres() {
    list_keys(Backend::Postgres).await;
}

async fn list_keys(backend: Backend) {
    let f = store_runtime(&format!("kv-list-{backend:?}"), backend);
    let rt = &f.rt;
    let a = granted(rt, &[&f.other]).await;
    let bucket = rt.store(&f.other).unwrap();
    let entries: Vec<(String, Vec<u8>)> = (0..2500)
        .map(|i| (format!("key-{i:05}"), vec![1]))
        .collect();
    bucket.set_many(&entries).await.unwrap();
    // Another store's keys never show.
    rt.store(&f.orders)
        .unwrap()
        .set("key-x", b"1")
        .await
        .unwrap();

    let page = |cursor: Option<String>| KvCall::ListKeys {
        store: f.other.clone(),
        cursor,
    };
    let mut seen: Vec<String> = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let t = text(kv(&a, page(cursor.clone())).await);
        // "([\"key-00000\", ...], Some(\"key-00999\"))"
        let (keys, next) = t.rsplit_once("], ").unwrap();
        let keys: Vec<String> = keys
            .trim_start_matches("([")
            .split(", ")
            .filter(|k| !k.is_empty())
            .map(|k| k.trim_matches('"').to_string())
            .collect();
        pages += 1;
        assert!(keys.len() <= foundation::LIST_PAGE);
        seen.extend(keys);
        let next = next.trim_end_matches(')');
        if next == "None" {
            break;
        }
        cursor = Some(
            next.trim_start_matches("Some(\"")
                .trim_end_matches('"')
                .to_string(),
        );
        assert_eq!(cursor.as_deref(), seen.last().map(String::as_str));
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(seen, expected);
    assert_eq!(
        text(kv(&a, KvCall::AllKeys(f.other.clone())).await),
        "(2500, Some(\"key-00000\"), Some(\"key-02499\"))"
    );
    // From Rust, the same pages.
    let first = bucket.list_keys(None).await.unwrap();
    assert_eq!(first.keys.len(), foundation::LIST_PAGE);
    assert_eq!(first.cursor.as_deref(), Some("key-00999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomics_lose_nothing_under_eight_concurrent_writers() {
    atomics(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomics_lose_nothing_under_eight_concurrent_writers_on_postgres() {
    atomics(Backend::Postgres).await;
}

async fn atomics(backend: Backend) {
    let f = store_runtime(&format!("kv-atomics-{backend:?}"), backend);
    let rt = &f.rt;
    let mut writers = Vec::new();
    for _ in 0..8 {
        writers.push(granted(rt, &[&f.orders]).await);
    }
    let runs: Vec<_> = writers
        .iter()
        .cloned()
        .map(|w| {
            let store = f.orders.clone();
            tokio::spawn(async move {
                let counted = kv(
                    &w,
                    KvCall::Increment {
                        store: store.clone(),
                        key: s("hits"),
                        delta: 1,
                        times: 200,
                    },
                )
                .await;
                assert!(matches!(counted, Reply::Text(_)), "{counted:?}");
                let updated = kv(
                    &w,
                    KvCall::Update {
                        store,
                        key: s("cas"),
                        times: 50,
                    },
                )
                .await;
                assert!(matches!(updated, Reply::Text(_)), "{updated:?}");
            })
        })
        .collect();
    for run in runs {
        run.await.unwrap();
    }
    let bucket = rt.store(&f.orders).unwrap();
    assert_eq!(
        bucket.get("hits").await.unwrap().as_deref(),
        Some(&b"1600"[..])
    );
    let cas: u64 = foundation::codec::decode(&bucket.get("cas").await.unwrap().unwrap()).unwrap();
    assert_eq!(cas, 400, "no compare-and-swap update was lost");
    assert_eq!(bucket.increment("hits", 0).await.unwrap(), 1600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_outlives_the_runtime_and_one_directory_has_one_host() {
    let dir = scratch("kv-reopen");
    let build = || {
        let mut b = builder();
        b.data_dir(&dir).store("orders", StoreConfig::sqlite());
        b.build()
    };
    let rt = build().unwrap();
    rt.store("orders")
        .unwrap()
        .set("kept", b"yes")
        .await
        .unwrap();

    // A second runtime on the same directory is refused while the first lives.
    let e = build().unwrap_err().to_string();
    assert!(
        e.contains("in use by another foundation process") && e.contains("foundation.lock"),
        "{e}"
    );
    let kept = rt.store("orders").unwrap();
    rt.shutdown().await;
    // After shutdown the store refuses reads and writes alike.
    for e in [
        kept.get("kept").await.unwrap_err(),
        kept.set("late", b"no").await.unwrap_err(),
    ] {
        assert!(
            e.to_string().starts_with("unavailable") && e.to_string().contains("closed"),
            "{e}"
        );
    }
    drop(rt);
    let rt = build().unwrap();
    assert_eq!(
        rt.store("orders")
            .unwrap()
            .get("kept")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"yes"[..])
    );
    assert!(matches!(
        rt.store("nope"),
        Err(foundation::StoreError::NoSuchStore(_))
    ));
    // Dropped without shutdown (and no actor holding it): the directory is free too.
    drop(rt);
    build().expect("the directory is free once the runtime is dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_is_refused_naming_it() {
    let dir = scratch("kv-corrupt");
    std::fs::write(dir.join("foundation.db"), vec![0x5a; 8192]).unwrap();
    let mut b = builder();
    b.data_dir(&dir).store("orders", StoreConfig::sqlite());
    let e = b.build().unwrap_err().to_string();
    assert!(
        e.contains(&dir.join("foundation.db").display().to_string())
            && e.contains("not a database"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_without_stores_creates_no_directory() {
    let dir = scratch("kv-none").join("data");
    let mut b = builder();
    b.data_dir(&dir);
    let rt = b.build().unwrap();
    assert!(!dir.exists());
    assert!(matches!(
        rt.store("orders"),
        Err(foundation::StoreError::NoSuchStore(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_postgres_fails_each_operation_then_the_pool_reconnects() {
    // A port nothing listens on: every operation fails, naming the store, after the
    // connect timeout; nothing hangs. (The server's start sets the password.)
    foundation_fixtures::postgres::server();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut b = builder();
    b.store(
        "down",
        postgres_config(&format!(
            "postgres://{}@127.0.0.1:{closed}/postgres",
            foundation_fixtures::postgres::USER
        )),
    );
    let rt = runtime_with(&b);
    let down = rt.store("down").unwrap();
    let e = down.set("k", b"v").await.unwrap_err().to_string();
    assert!(
        e.starts_with("unavailable") && e.contains("\"down\"") && e.contains("nothing was done"),
        "{e}"
    );
    let a = granted(&rt, &["down"]).await;
    let e = err(kv(
        &a,
        KvCall::Get {
            store: s("down"),
            key: s("k"),
        },
    )
    .await);
    assert!(e.starts_with("unavailable"), "{e}");

    // A server that drops the connections: the pool replaces them, and operations
    // go on.
    let f = store_runtime("kv-reconnect", Backend::Postgres);
    let bucket = f.rt.store(&f.orders).unwrap();
    bucket.set("before", b"1").await.unwrap();
    let admin = f.rt.store(&f.other).unwrap();
    admin.set("x", b"1").await.unwrap();
    terminate_foundation_sessions().await;
    let mut outcome = bucket.set("after", b"2").await;
    if let Err(e) = &outcome {
        // A connection the pool had not yet seen closed fails this once, saying so:
        // `unavailable` if it was found dead before the write was sent,
        // `outcome-unknown` if the write was on it (docs/semantics.md, "Durable when ok").
        let e = e.to_string();
        assert!(
            e.starts_with("unavailable") || e.starts_with("outcome-unknown"),
            "{e}"
        );
        outcome = bucket.set("after", b"2").await;
    }
    outcome.unwrap();
    assert_eq!(
        bucket.get("after").await.unwrap().as_deref(),
        Some(&b"2"[..])
    );
}

/// Ends every session of the `foundation` application on the test server, as a
/// restarting database or a network cut would.
async fn terminate_foundation_sessions() {
    let killed = pg_client()
        .await
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'foundation'",
            &[],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty(), "the stores had sessions to end");
}

pub fn durable_table(name: &str) -> TableCall {
    TableCall::Create {
        name: Some(name.to_string()),
        kind: "ordered".into(),
        access: "protected".into(),
        heir: None,
        max_entries: None,
        max_bytes: None,
        durable: true,
    }
}

async fn table_id(actor: &ActorRef, op: TableCall) -> u64 {
    match call(actor, Call::Table(op)).await {
        Reply::Id(id) => id,
        other => panic!("create failed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_table_comes_back_after_its_owner_and_the_host_restart() {
    durable_tables(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_table_comes_back_after_its_owner_and_the_host_restart_on_postgres() {
    durable_tables(Backend::Postgres).await;
}

async fn durable_tables(backend: Backend) {
    let dir = scratch(&format!("durable-table-{backend:?}"));
    let name = format!("prices-{backend:?}-{}", std::process::id());
    let build = || {
        let mut b = builder();
        b.data_dir(&dir)
            .store("tables", backend.config())
            .table_store("tables");
        runtime_with(&b)
    };
    let rt = build();
    let owner = spawn(&rt).await;
    let id = table_id(&owner, durable_table(&name)).await;
    let op = |op: TableCall| Call::Table(op);
    for (key, value) in [("a", 1), ("b", 2), ("c", 3)] {
        let insert = TableCall::Insert {
            table: id,
            key: key.into(),
            value,
        };
        assert_eq!(call(&owner, op(insert)).await, Reply::Text("()".into()));
    }
    let counted = TableCall::UpdateCounter {
        table: id,
        key: "a".into(),
        incr: 10,
        default: None,
    };
    assert_eq!(call(&owner, op(counted)).await, Reply::Text("11".into()));
    let deleted = TableCall::Delete {
        table: id,
        key: "b".into(),
    };
    assert_eq!(call(&owner, op(deleted)).await, Reply::Text("true".into()));
    let many = TableCall::InsertMany {
        table: id,
        entries: vec![("d".into(), 4), ("e".into(), 5)],
    };
    assert_eq!(call(&owner, op(many)).await, Reply::Text("2".into()));
    let inserted_new = TableCall::InsertNew {
        table: id,
        key: "c".into(),
        value: 99,
    };
    assert_eq!(
        call(&owner, op(inserted_new)).await,
        Reply::Text("false".into())
    );
    // Rust reads a durable table like any other, and may not write it.
    let t = rt.table(&name).unwrap();
    assert_eq!(t.get::<u64>(b"a").unwrap(), Some(11));
    let e = t.insert(b"z", &1u64).unwrap_err().to_string();
    assert!(e.contains("is durable"), "{e}");

    // The owner stops: the table is deleted (no heir), its rows stay.
    owner.stop(foundation::ExitReason::Shutdown).await;
    assert!(rt.table(&name).is_err());
    let again = spawn(&rt).await;
    table_id(&again, durable_table(&name)).await;
    let expected = [("a", 11), ("c", 3), ("d", 4), ("e", 5)];
    let check = |rt: &Runtime| {
        let t = rt.table(&name).unwrap();
        let page = t.range_raw(None, None, 100).unwrap();
        let got: Vec<(String, u64)> = page
            .entries
            .iter()
            .map(|e| {
                (
                    String::from_utf8(e.key.clone()).unwrap(),
                    foundation::codec::decode(&e.value).unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, u64)> = expected.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        assert_eq!(got, want);
        assert_eq!(t.size().unwrap(), 4);
    };
    check(&rt);
    rt.shutdown().await;
    drop(rt);

    // The host restarts: the same rows.
    let rt = build();
    let third = spawn(&rt).await;
    table_id(&third, durable_table(&name)).await;
    check(&rt);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_table_options_and_a_missing_table_store_are_refused_clearly() {
    let (rt, _) = (runtime(), ());
    let a = spawn(&rt).await;
    let refused = |op: TableCall| {
        let a = a.clone();
        async move {
            match call(&a, Call::Table(op)).await {
                Reply::Err(e) => e,
                other => panic!("expected a refusal, got {other:?}"),
            }
        }
    };
    let e = refused(durable_table("no-store")).await;
    assert!(e.contains("need the runtime's table store"), "{e}");
    let e = refused(TableCall::Create {
        name: None,
        kind: "set".into(),
        access: "protected".into(),
        heir: None,
        max_entries: None,
        max_bytes: None,
        durable: true,
    })
    .await;
    assert!(e.contains("needs a name"), "{e}");
    let e = refused(TableCall::Create {
        name: Some("bag".into()),
        kind: "bag".into(),
        access: "protected".into(),
        heir: None,
        max_entries: None,
        max_bytes: None,
        durable: true,
    })
    .await;
    assert!(e.contains("set or an ordered-set"), "{e}");
    // From Rust: refused, with the reason.
    let e = rt
        .create_table(foundation::TableOptions {
            name: Some("rust".into()),
            durable: true,
            ..foundation::TableOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("created by an actor"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_write_its_store_refuses_fails_and_changes_nothing() {
    // PostgreSQL refuses values over 16 bytes for this table's rows (a constraint
    // added for the test): the write fails with `storage`, and memory is as before.
    let name = format!("guarded-{}", std::process::id());
    let mut b = builder();
    b.store("tables", Backend::Postgres.config())
        .table_store("tables");
    let rt = runtime_with(&b);
    let owner = spawn(&rt).await;
    let id = table_id(&owner, durable_table(&name)).await;
    let insert = |key: &str, value: u64| {
        Call::Table(TableCall::Insert {
            table: id,
            key: key.into(),
            value,
        })
    };
    assert_eq!(call(&owner, insert("k", 1)).await, Reply::Text("()".into()));
    pg_admin(&format!(
        "ALTER TABLE foundation_table_rows ADD CONSTRAINT small_{} \
         CHECK (name <> '{name}' OR length(value) <= 1)",
        name.replace('-', "_")
    ))
    .await;
    let e = match call(&owner, insert("k", 1 << 40)).await {
        Reply::Err(e) => e,
        other => panic!("expected a storage error, got {other:?}"),
    };
    assert!(
        e.contains("Storage(") && e.contains("nothing changed") && e.contains("check constraint"),
        "{e}"
    );
    let t = rt.table(&name).unwrap();
    assert_eq!(t.get::<u64>(b"k").unwrap(), Some(1), "the write was undone");
    let e = match call(&owner, insert("new", 1 << 40)).await {
        Reply::Err(e) => e,
        other => panic!("expected a storage error, got {other:?}"),
    };
    assert!(e.contains("Storage("), "{e}");
    assert_eq!(t.get::<u64>(b"new").unwrap(), None);
    assert_eq!(t.size().unwrap(), 1);
}

/// Runs `sql` on the test PostgreSQL server as its administrator.
async fn pg_admin(sql: &str) {
    let client = pg_client().await;
    client.batch_execute(sql).await.unwrap();
}

async fn pg_client() -> tokio_postgres::Client {
    let server = foundation_fixtures::postgres::server();
    let password = std::env::var(foundation_fixtures::postgres::PASSWORD_ENV).unwrap();
    let (client, connection) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={} password={password} dbname=postgres application_name=admin",
            server.port,
            foundation_fixtures::postgres::USER
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_insert_many_stopped_by_a_quota_stores_the_part_it_wrote() {
    let dir = scratch("durable-partial");
    let name = "partial";
    let build = || {
        let mut b = builder();
        b.data_dir(&dir)
            .store("tables", StoreConfig::sqlite())
            .table_store("tables");
        runtime_with(&b)
    };
    let create = TableCall::Create {
        name: Some(name.into()),
        kind: "set".into(),
        access: "protected".into(),
        heir: None,
        max_entries: Some(3),
        max_bytes: None,
        durable: true,
    };
    let rt = build();
    let owner = spawn(&rt).await;
    let id = table_id(&owner, create).await;
    let many = TableCall::InsertMany {
        table: id,
        entries: vec![
            ("a".into(), 1),
            ("b".into(), 2),
            ("c".into(), 3),
            ("d".into(), 4),
        ],
    };
    let e = match call(&owner, Call::Table(many)).await {
        Reply::Err(e) => e,
        other => panic!("expected the quota, got {other:?}"),
    };
    assert!(
        e.contains("the first 3 entries of the batch were written"),
        "{e}"
    );
    rt.shutdown().await;
    drop(rt);

    let rt = build();
    let again = spawn(&rt).await;
    let create = TableCall::Create {
        name: Some(name.into()),
        kind: "set".into(),
        access: "protected".into(),
        heir: None,
        max_entries: Some(3),
        max_bytes: None,
        durable: true,
    };
    table_id(&again, create).await;
    let t = rt.table(name).unwrap();
    assert_eq!(t.size().unwrap(), 3, "the written part was stored");
    assert_eq!(t.get::<u64>(b"c").unwrap(), Some(3));
    assert_eq!(t.get::<u64>(b"d").unwrap(), None);
}
