//! Durable key-value stores (the durable-state issue): every `wasi:keyvalue`
//! operation from a guest, grants, limits, atomics under concurrent writers, and the
//! faults a store refuses with a clear error. The kill -9 proof is in `cli`.

use foundation::{ActorOptions, Capabilities, Sandbox, StoreConfig};

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

/// A runtime whose data directory is fresh, with stores `orders` (values up to 1 KiB)
/// and `other`.
fn store_runtime(name: &str) -> (Runtime, PathBuf) {
    let dir = scratch(name);
    let mut b = builder();
    b.data_dir(&dir)
        .store("orders", StoreConfig::sqlite().max_value_size(1024))
        .store("other", StoreConfig::sqlite());
    (runtime_with(&b), dir)
}

async fn granted(rt: &Runtime, stores: &[&str]) -> ActorRef {
    let capabilities = stores
        .iter()
        .fold(Capabilities::default(), |c, s| c.keyvalue(s));
    rt.spawn_with(
        ActorOptions::new("testactor").sandbox(Sandbox {
            capabilities,
            ..Sandbox::default()
        }),
        &Args::default(),
    )
    .await
    .expect("testactor starts")
}

fn s(text: &str) -> String {
    text.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_store_operation_from_a_guest() {
    let (rt, _dir) = store_runtime("kv-ops");
    let a = granted(&rt, &["orders", "ghost"]).await;
    let orders = || s("orders");

    // Grants: not granted is access-denied, granted but undeclared no-such-store.
    assert_eq!(err(kv(&a, KvCall::Open(s("other"))).await), "access-denied");
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
    let bucket = rt.store("orders").unwrap();
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
    let (rt, _dir) = store_runtime("kv-list");
    let a = granted(&rt, &["other"]).await;
    let bucket = rt.store("other").unwrap();
    let entries: Vec<(String, Vec<u8>)> = (0..2500)
        .map(|i| (format!("key-{i:05}"), vec![1]))
        .collect();
    bucket.set_many(&entries).await.unwrap();
    // Another store's keys never show.
    rt.store("orders")
        .unwrap()
        .set("key-x", b"1")
        .await
        .unwrap();

    let page = |cursor: Option<String>| KvCall::ListKeys {
        store: s("other"),
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
        text(kv(&a, KvCall::AllKeys(s("other"))).await),
        "(2500, Some(\"key-00000\"), Some(\"key-02499\"))"
    );
    // From Rust, the same pages.
    let first = bucket.list_keys(None).await.unwrap();
    assert_eq!(first.keys.len(), foundation::LIST_PAGE);
    assert_eq!(first.cursor.as_deref(), Some("key-00999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomics_lose_nothing_under_eight_concurrent_writers() {
    let (rt, _dir) = store_runtime("kv-atomics");
    let mut writers = Vec::new();
    for _ in 0..8 {
        writers.push(granted(&rt, &["orders"]).await);
    }
    let runs: Vec<_> = writers
        .iter()
        .cloned()
        .map(|w| {
            tokio::spawn(async move {
                let counted = kv(
                    &w,
                    KvCall::Increment {
                        store: s("orders"),
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
                        store: s("orders"),
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
    let bucket = rt.store("orders").unwrap();
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
