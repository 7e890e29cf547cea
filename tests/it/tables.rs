//! Host-owned tables (the ETS items of docs/semantics.md, "OTP behaviours cited"):
//! kinds, access, ownership and inheritance, atomic counters, scans, quotas; from
//! guests and from Rust.

use foundation::{
    ExitReason, Probe, SupervisorSpec, SystemMessage, TableAccess, TableError, TableKind,
    TableOptions,
};

use crate::*;

/// What to create: unnamed, protected, no heir, the runtime's quotas unless set.
#[derive(Default)]
struct NewTable {
    name: Option<&'static str>,
    kind: &'static str,
    access: &'static str,
    heir: Option<u64>,
    max_entries: Option<u64>,
    max_bytes: Option<u64>,
    durable: bool,
}

impl NewTable {
    fn op(&self) -> TableCall {
        TableCall::Create {
            name: self.name.map(Into::into),
            kind: self.kind.into(),
            access: if self.access.is_empty() {
                "protected"
            } else {
                self.access
            }
            .into(),
            heir: self.heir,
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
            durable: self.durable,
        }
    }
}

async fn table_op(actor: &ActorRef, op: TableCall) -> Reply {
    call(actor, Call::Table(op)).await
}

/// Creates the table in `actor`; returns its id.
async fn created(actor: &ActorRef, new: NewTable) -> u64 {
    match table_op(actor, new.op()).await {
        Reply::Id(id) => id,
        other => panic!("create failed: {other:?}"),
    }
}

async fn new_table(actor: &ActorRef, kind: &'static str, access: &'static str) -> u64 {
    created(
        actor,
        NewTable {
            kind,
            access,
            ..NewTable::default()
        },
    )
    .await
}

fn text(s: &str) -> Reply {
    Reply::Text(s.into())
}

fn is_err(r: &Reply, what: &str) -> bool {
    matches!(r, Reply::Err(e) if e.contains(what))
}

async fn insert(actor: &ActorRef, table: u64, key: &str, value: u64) -> Reply {
    table_op(
        actor,
        TableCall::Insert {
            table,
            key: key.into(),
            value,
        },
    )
    .await
}

async fn lookup(actor: &ActorRef, table: u64, key: &str) -> Reply {
    table_op(
        actor,
        TableCall::Lookup {
            table,
            key: key.into(),
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e6_defaults_set_protected_others_read_only_the_owner_writes() {
    let rt = runtime();
    let owner = spawn(&rt).await;
    let other = spawn(&rt).await;
    let t = new_table(&owner, "set", "protected").await;
    assert_eq!(insert(&owner, t, "k", 1).await, text("()"));
    assert_eq!(
        insert(&owner, t, "k", 2).await,
        text("()"),
        "a set replaces"
    );
    assert_eq!(lookup(&other, t, "k").await, text("[2]"), "others read");
    let denied = insert(&other, t, "k", 3).await;
    assert!(is_err(&denied, "AccessDenied"), "{denied:?}");
    assert!(is_err(&denied, "only the owner writes"), "{denied:?}");
    assert_eq!(lookup(&owner, t, "k").await, text("[2]"), "nothing changed");
    // The Rust default options are the same.
    let host = rt.create_table(TableOptions::default()).unwrap();
    let opts = TableOptions::default();
    assert_eq!(
        (opts.kind, opts.access),
        (TableKind::Set, TableAccess::Protected)
    );
    host.insert(b"k", &5u64).unwrap();
    assert_eq!(lookup(&other, host.id(), "k").await, text("[5]"));
    assert!(is_err(
        &insert(&other, host.id(), "k", 6).await,
        "AccessDenied"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e4_private_tables_refuse_others_public_tables_take_anyone() {
    let rt = runtime();
    let owner = spawn(&rt).await;
    let other = spawn(&rt).await;
    let private = new_table(&owner, "set", "private").await;
    assert_eq!(insert(&owner, private, "k", 1).await, text("()"));
    assert_eq!(lookup(&owner, private, "k").await, text("[1]"));
    let read = lookup(&other, private, "k").await;
    assert!(is_err(&read, "private to its owner"), "{read:?}");
    assert!(is_err(
        &insert(&other, private, "k", 2).await,
        "AccessDenied"
    ));
    let size = table_op(&other, TableCall::Size(private)).await;
    assert!(is_err(&size, "AccessDenied"), "{size:?}");
    // The host is not the owner either.
    let from_rust = rt.table_by_id(private).unwrap().lookup_raw(b"k");
    assert!(
        matches!(from_rust, Err(TableError::AccessDenied(_))),
        "{from_rust:?}"
    );

    let public = new_table(&owner, "set", "public").await;
    assert_eq!(insert(&other, public, "k", 7).await, text("()"));
    assert_eq!(lookup(&owner, public, "k").await, text("[7]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_kinds_bag_duplicate_bag_and_insert_new() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let bag = new_table(&a, "bag", "protected").await;
    for v in [1, 2, 1] {
        insert(&a, bag, "k", v).await;
    }
    assert_eq!(
        lookup(&a, bag, "k").await,
        text("[1, 2]"),
        "a bag keeps distinct values"
    );
    let dbag = new_table(&a, "dbag", "protected").await;
    for v in [1, 2, 1] {
        insert(&a, dbag, "k", v).await;
    }
    assert_eq!(lookup(&a, dbag, "k").await, text("[1, 2, 1]"));
    assert_eq!(table_op(&a, TableCall::Size(dbag)).await, text("3"));
    let set = new_table(&a, "set", "protected").await;
    let first = TableCall::InsertNew {
        table: set,
        key: "k".into(),
        value: 1,
    };
    assert_eq!(table_op(&a, first).await, text("true"));
    let second = TableCall::InsertNew {
        table: set,
        key: "k".into(),
        value: 2,
    };
    assert_eq!(table_op(&a, second).await, text("false"));
    assert_eq!(lookup(&a, set, "k").await, text("[1]"));
    let del = TableCall::Delete {
        table: set,
        key: "k".into(),
    };
    assert_eq!(table_op(&a, del).await, text("true"));
    assert_eq!(lookup(&a, set, "k").await, text("[]"));
    // A bag holds no counters.
    let bad = table_op(
        &a,
        TableCall::UpdateCounter {
            table: bag,
            key: "c".into(),
            incr: 1,
            default: Some(0),
        },
    )
    .await;
    assert!(is_err(&bad, "NotACounter"), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e1_a_table_dies_with_its_owner() {
    let rt = runtime();
    let owner = spawn(&rt).await;
    let reader = spawn(&rt).await;
    let t = created(
        &owner,
        NewTable {
            name: Some("doomed"),
            kind: "set",
            ..NewTable::default()
        },
    )
    .await;
    insert(&owner, t, "k", 1).await;
    assert_eq!(lookup(&reader, t, "k").await, text("[1]"));
    owner.cast(&Cast::Panic("boom".into())).await.unwrap();
    owner.wait_exit().await;
    // The exit path has run (wait_exit returns after it): the table is gone.
    let gone = lookup(&reader, t, "k").await;
    assert!(is_err(&gone, "NoTable"), "{gone:?}");
    let by_name = table_op(&reader, TableCall::Open("doomed".into())).await;
    assert!(is_err(&by_name, "UnknownName"), "{by_name:?}");
    assert!(matches!(
        rt.table("doomed"),
        Err(TableError::UnknownName(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2_the_heir_receives_the_table_when_its_owner_dies() {
    let rt = runtime();
    let mut probe = rt.probe();
    let heir = rt
        .spawn(
            "testactor",
            &Args {
                forward_info: Some(probe.id().get()),
                ..Args::default()
            },
        )
        .await
        .unwrap();
    let owner = spawn(&rt).await;
    let t = created(
        &owner,
        NewTable {
            kind: "ordered",
            heir: Some(heir.id().get()),
            ..NewTable::default()
        },
    )
    .await;
    insert(&owner, t, "k", 42).await;
    let old_owner = owner.id().get();
    assert_eq!(owner.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    let got = probe.recv::<Cast>(LONG).await.unwrap().msg;
    assert!(
        matches!(&got, Cast::TableTransfer { table, from, data } if *table == t && *from == old_owner && data == "heir-data"),
        "{got:?}"
    );
    // The table lives on, and the heir is its owner: it writes now.
    assert_eq!(lookup(&heir, t, "k").await, text("[42]"));
    assert_eq!(insert(&heir, t, "k", 43).await, text("()"));
    assert_eq!(lookup(&heir, t, "k").await, text("[43]"));
}

/// The next two system messages `heir` receives are `table` from `owner`, then the
/// DOWN of `owner`: the exit path hands tables over before it announces the exit.
async fn table_then_down(heir: &mut Probe, table: u64, owner: u64) {
    match heir.recv_signal(LONG).await.unwrap() {
        SystemMessage::TableTransfer { table: t, from, .. } => {
            assert_eq!((t, from), (table, owner))
        }
        other => panic!("the table must come before the DOWN of its owner: {other:?}"),
    }
    match heir.recv_signal(LONG).await.unwrap() {
        SystemMessage::Down(down) => assert_eq!(down.actor, owner),
        other => panic!("{other:?}"),
    }
}

/// One exit path for every kind of process (docs/semantics.md, "Exits and traps"): an
/// heir that monitors the owner holds the table before the owner's DOWN arrives,
/// whether the owner was an actor, a supervisor or a probe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_heir_holds_the_table_before_the_down_of_an_actor_a_supervisor_or_a_probe() {
    let rt = runtime();
    let mut heir = rt.probe();

    let actor = spawn(&rt).await;
    let t = created(
        &actor,
        NewTable {
            kind: "set",
            heir: Some(heir.id().get()),
            ..NewTable::default()
        },
    )
    .await;
    heir.monitor(actor.id());
    let actor_id = actor.id().get();
    assert_eq!(actor.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    table_then_down(&mut heir, t, actor_id).await;

    // A supervisor comes to own a table by a give-away from Rust.
    let supervisor = rt
        .start_supervisor(SupervisorSpec::default(), None)
        .await
        .unwrap();
    let table = rt.create_table(TableOptions::default()).unwrap();
    table.set_heir(Some((heir.id(), b"s".to_vec()))).unwrap();
    table.give_away(supervisor.id(), Vec::new()).unwrap();
    heir.monitor(supervisor.id());
    let supervisor_id = supervisor.id().get();
    supervisor.stop(ExitReason::Shutdown).await;
    table_then_down(&mut heir, table.id(), supervisor_id).await;

    let owner = rt.probe();
    let table = rt.create_table(TableOptions::default()).unwrap();
    table.set_heir(Some((heir.id(), b"p".to_vec()))).unwrap();
    table.give_away(owner.id(), Vec::new()).unwrap();
    heir.monitor(owner.id());
    let owner_id = owner.id().get();
    drop(owner);
    table_then_down(&mut heir, table.id(), owner_id).await;
}

/// A supervisor is heir to a table of any owner (here a probe), owns it from then
/// on, and the table dies with the supervisor when it has no heir of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_inherits_a_probes_table_and_it_dies_with_the_supervisor() {
    let rt = runtime();
    let supervisor = rt
        .start_supervisor(SupervisorSpec::default(), None)
        .await
        .unwrap();
    let owner = rt.probe();
    let table = rt.create_table(TableOptions::default()).unwrap();
    table.insert(b"k", &7u32).unwrap();
    table.set_heir(Some((supervisor.id(), Vec::new()))).unwrap();
    table.give_away(owner.id(), Vec::new()).unwrap();
    // The probe's exit path runs in its drop: the supervisor owns the table now, and
    // the host, no longer its owner, may read but not delete it.
    drop(owner);
    let inherited = rt.table_by_id(table.id()).unwrap();
    assert_eq!(inherited.get::<u32>(b"k").unwrap(), Some(7));
    assert!(matches!(
        inherited.delete_table(),
        Err(TableError::AccessDenied(_))
    ));
    supervisor.stop(ExitReason::Shutdown).await;
    assert!(matches!(
        rt.table_by_id(table.id()),
        Err(TableError::NoTable)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e3_give_away_hands_the_table_over_while_the_owner_lives() {
    let rt = runtime();
    let mut probe = rt.probe();
    let owner = spawn(&rt).await;
    let t = new_table(&owner, "set", "protected").await;
    // To an actor that is not alive: noproc, and nothing changes.
    let dead = spawn(&rt).await;
    let dead_id = dead.id().get();
    dead.stop(ExitReason::Normal).await;
    let r = table_op(
        &owner,
        TableCall::GiveAway {
            table: t,
            to: dead_id,
        },
    )
    .await;
    assert!(is_err(&r, "Noproc"), "{r:?}");
    // To the probe (it stands for an actor): it receives the transfer and owns it.
    let r = table_op(
        &owner,
        TableCall::GiveAway {
            table: t,
            to: probe.id().get(),
        },
    )
    .await;
    assert_eq!(r, text("()"));
    match probe.recv_signal(LONG).await.unwrap() {
        foundation::SystemMessage::TableTransfer { table, from, data } => {
            assert_eq!(
                (table, from, data.as_slice()),
                (t, owner.id().get(), &b"gift"[..])
            );
        }
        other => panic!("{other:?}"),
    }
    // The old owner no longer writes; a non-owner cannot give it away either.
    assert!(is_err(&insert(&owner, t, "k", 1).await, "AccessDenied"));
    let r = table_op(
        &owner,
        TableCall::GiveAway {
            table: t,
            to: owner.id().get(),
        },
    )
    .await;
    assert!(is_err(&r, "only the owner may give away"), "{r:?}");
    // The table survives its old owner's death, and dies with the probe.
    owner.stop(ExitReason::Normal).await;
    let reader = spawn(&rt).await;
    assert_eq!(lookup(&reader, t, "k").await, text("[]"));
    drop(probe);
    assert!(is_err(&lookup(&reader, t, "k").await, "NoTable"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e7_counter_updates_are_atomic_under_concurrent_writers() {
    let rt = runtime();
    let owner = spawn(&rt).await;
    let t = new_table(&owner, "set", "public").await;
    const WRITERS: usize = 8;
    const TIMES: u64 = 500;
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        writers.push(spawn(&rt).await);
    }
    let mut joins = Vec::new();
    for w in writers {
        joins.push(tokio::spawn(async move {
            table_op(
                &w,
                TableCall::Count {
                    table: t,
                    key: "hits".into(),
                    times: TIMES,
                },
            )
            .await
        }));
    }
    // The host increments concurrently too.
    let host = rt.table_by_id(t).unwrap();
    for _ in 0..TIMES {
        host.update_counter(b"hits", 1, Some(0)).unwrap();
    }
    for j in joins {
        assert_eq!(j.await.unwrap(), text("()"));
    }
    let total = (WRITERS as u64 + 1) * TIMES;
    assert_eq!(host.get::<u64>(b"hits").unwrap(), Some(total));
    // Counter edge cases: no key and no default; a value that is not an integer.
    let r = table_op(
        &owner,
        TableCall::UpdateCounter {
            table: t,
            key: "nothing".into(),
            incr: 1,
            default: None,
        },
    )
    .await;
    assert!(is_err(&r, "NoKey"), "{r:?}");
    host.insert(b"text", &"not a number").unwrap();
    let r = table_op(
        &owner,
        TableCall::UpdateCounter {
            table: t,
            key: "text".into(),
            incr: 1,
            default: None,
        },
    )
    .await;
    assert!(is_err(&r, "NotACounter"), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_set_range_and_prefix_scans_page_with_a_continuation() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let t = new_table(&a, "ordered", "protected").await;
    for (i, k) in ["b/2", "a/1", "b/1", "c/1", "b/3"].iter().enumerate() {
        insert(&a, t, k, i as u64).await;
    }
    let page = |from: Option<&str>, to: Option<&str>, limit| TableCall::Range {
        table: t,
        from: from.map(Into::into),
        to: to.map(Into::into),
        limit,
    };
    assert_eq!(
        table_op(&a, page(None, None, 2)).await,
        text(r#"([("a/1", 1), ("b/1", 2)], Some("b/2"))"#)
    );
    assert_eq!(
        table_op(&a, page(Some("b/2"), Some("c"), 10)).await,
        text(r#"([("b/2", 0), ("b/3", 4)], None)"#)
    );
    let prefix = |from: Option<&str>, limit| TableCall::Prefix {
        table: t,
        prefix: "b/".into(),
        from: from.map(Into::into),
        limit,
    };
    assert_eq!(
        table_op(&a, prefix(None, 2)).await,
        text(r#"([("b/1", 2), ("b/2", 0)], Some("b/3"))"#)
    );
    assert_eq!(
        table_op(&a, prefix(Some("b/3"), 2)).await,
        text(r#"([("b/3", 4)], None)"#)
    );
    // Hash tables have no order to scan.
    let set = new_table(&a, "set", "protected").await;
    let r = table_op(
        &a,
        TableCall::Range {
            table: set,
            from: None,
            to: None,
            limit: 1,
        },
    )
    .await;
    assert!(is_err(&r, "Unordered"), "{r:?}");
    // From Rust, the same order.
    let page = rt
        .table_by_id(t)
        .unwrap()
        .range_raw(None, Some(b"b/2"), 10)
        .unwrap();
    let keys: Vec<&[u8]> = page.entries.iter().map(|e| e.key.as_slice()).collect();
    assert_eq!(keys, [&b"a/1"[..], b"b/1"]);
    assert_eq!(page.next, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_and_names_are_enforced_with_clear_errors() {
    let rt = runtime();
    let a = spawn(&rt).await;
    let t = created(
        &a,
        NewTable {
            name: Some("small"),
            kind: "set",
            max_entries: Some(2),
            max_bytes: Some(1000),
            ..NewTable::default()
        },
    )
    .await;
    assert_eq!(insert(&a, t, "a", 1).await, text("()"));
    assert_eq!(insert(&a, t, "b", 2).await, text("()"));
    let full = insert(&a, t, "c", 3).await;
    assert!(is_err(&full, "QuotaExceeded"), "{full:?}");
    assert!(is_err(&full, "at most 2 entries"), "{full:?}");
    // Replacing an existing key does not grow the table.
    assert_eq!(insert(&a, t, "a", 9).await, text("()"));
    assert_eq!(table_op(&a, TableCall::Size(t)).await, text("2"));
    // Bytes: from Rust, with a value that would pass the byte quota.
    let bytes = rt
        .create_table(TableOptions {
            max_bytes: Some(64),
            ..TableOptions::default()
        })
        .unwrap();
    let r = bytes.insert(b"k", &vec![0u8; 100]);
    assert!(
        matches!(&r, Err(TableError::QuotaExceeded(m)) if m.contains("at most 64 bytes")),
        "{r:?}"
    );
    assert_eq!(bytes.size().unwrap(), 0, "nothing changed");
    // Names are unique among live tables and found by any actor.
    let again = table_op(
        &a,
        NewTable {
            name: Some("small"),
            kind: "set",
            ..NewTable::default()
        }
        .op(),
    )
    .await;
    assert!(is_err(&again, "NameTaken"), "{again:?}");
    let other = spawn(&rt).await;
    assert_eq!(
        table_op(&other, TableCall::Open("small".into())).await,
        Reply::Id(t)
    );
    // Deleting frees the name; only the owner deletes.
    let r = table_op(&other, TableCall::DeleteTable(t)).await;
    assert!(is_err(&r, "AccessDenied"), "{r:?}");
    assert_eq!(table_op(&a, TableCall::DeleteTable(t)).await, text("()"));
    assert!(is_err(&lookup(&other, t, "a").await, "NoTable"));
    assert!(rt.table("small").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_get_many_and_insert_many_keep_insert_semantics_and_quotas() {
    let rt = runtime();
    let owner = spawn(&rt).await;
    let reader = spawn(&rt).await;
    let entries = |es: &[(&str, u64)]| es.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let insert_many = |table: u64, es: &[(&str, u64)]| TableCall::InsertMany {
        table,
        entries: entries(es),
    };
    let get_many = |table: u64, keys: &[&str]| TableCall::GetMany {
        table,
        keys: keys.iter().map(|k| k.to_string()).collect(),
    };
    let t = created(
        &owner,
        NewTable {
            kind: "set",
            max_entries: Some(4),
            ..NewTable::default()
        },
    )
    .await;
    assert_eq!(
        table_op(
            &owner,
            insert_many(t, &[("a", 1), ("b", 2), ("c", 3), ("a", 4)])
        )
        .await,
        text("4")
    );
    // A later entry for the same key replaces the earlier one, as separate inserts do.
    assert_eq!(
        table_op(&reader, get_many(t, &["a", "x", "c", "b"])).await,
        text("[Some(4), None, Some(3), Some(2)]")
    );
    assert_eq!(table_op(&reader, get_many(t, &[])).await, text("[]"));
    // Protected: another actor's bulk write is refused whole.
    let r = table_op(&reader, insert_many(t, &[("z", 1)])).await;
    assert!(is_err(&r, "AccessDenied"), "{r:?}");
    assert_eq!(table_op(&owner, TableCall::Size(t)).await, text("3"));
    // A quota stops the batch at the entry that would pass it.
    let r = table_op(&owner, insert_many(t, &[("d", 4), ("e", 5), ("f", 6)])).await;
    assert!(is_err(&r, "QuotaExceeded"), "{r:?}");
    assert!(is_err(&r, "at most 4 entries"), "{r:?}");
    assert_eq!(
        table_op(&reader, get_many(t, &["d", "e", "f"])).await,
        text("[Some(4), None, None]")
    );
    // Past a quota the error says how much of the batch was written.
    assert!(
        is_err(&r, "the first 1 entries of the batch were written"),
        "{r:?}"
    );
    // One call writes at most 4096 entries.
    let many: Vec<(String, u64)> = (0..4097).map(|i| (format!("k{i}"), i)).collect();
    let big = created(
        &owner,
        NewTable {
            kind: "set",
            ..NewTable::default()
        },
    )
    .await;
    let r = table_op(
        &owner,
        TableCall::InsertMany {
            table: big,
            entries: many,
        },
    )
    .await;
    assert!(
        is_err(
            &r,
            "insert-many takes at most 4096 entries per call, not 4097"
        ),
        "{r:?}"
    );
    assert_eq!(table_op(&owner, TableCall::Size(big)).await, text("0"));
    // An answer larger than the maximum message size is refused whole, whatever mix
    // of present and absent keys makes it up.
    let small = runtime_with(builder().max_message_size(200));
    let a = spawn(&small).await;
    let t = new_table(&a, "set", "protected").await;
    assert_eq!(
        table_op(&a, insert_many(t, &[("a", 1), ("b", 2)])).await,
        text("2")
    );
    // 50 absent keys (4 bytes each) and 2 present (4 + 1): 210 bytes.
    let keys: Vec<String> = ('a'..='z').chain('A'..='Z').map(String::from).collect();
    let r = table_op(&a, TableCall::GetMany { table: t, keys }).await;
    assert!(is_err(&r, "TooLarge(210)"), "{r:?}");
    assert_eq!(
        table_op(&a, get_many(t, &["a", "x", "b"])).await,
        text("[Some(1), None, Some(2)]")
    );
    // Bags: duplicates as `insert` treats them.
    let bag = new_table(&owner, "bag", "protected").await;
    assert_eq!(
        table_op(&owner, insert_many(bag, &[("k", 1), ("k", 1), ("k", 2)])).await,
        text("3")
    );
    assert_eq!(lookup(&reader, bag, "k").await, text("[1, 2]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_values_keeps_the_byte_quota_exact() {
    let rt = runtime();
    let t = rt
        .create_table(TableOptions {
            max_bytes: Some(100),
            ..TableOptions::default()
        })
        .unwrap();
    // MessagePack of n zero bytes as a list of integers: n + 1 bytes for n < 16.
    for _ in 0..5 {
        t.insert(b"k", &vec![0u8; 9]).unwrap(); // 1 + 10 bytes, replaced each time
    }
    t.insert(b"j", &vec![0u8; 14]).unwrap(); // 11 + 16 = 27 bytes in all
    // 11 + 1 + 90-odd bytes would pass 100: refused, and nothing changed.
    let r = t.insert(b"j", &vec![0u8; 100]);
    assert!(
        matches!(&r, Err(TableError::QuotaExceeded(m)) if m.contains("at most 100 bytes")),
        "{r:?}"
    );
    assert_eq!(t.get::<Vec<u8>>(b"j").unwrap(), Some(vec![0u8; 14]));
    // Had the replaced values been counted twice, this would not fit.
    for _ in 0..5 {
        t.insert(b"j", &vec![0u8; 14]).unwrap();
    }
    t.insert(b"m", &vec![0u8; 14]).unwrap(); // 27 + 16 = 43
    t.insert(b"n", &vec![0u8; 14]).unwrap(); // 59
    t.insert(b"o", &vec![0u8; 14]).unwrap(); // 75
    t.insert(b"p", &vec![0u8; 14]).unwrap(); // 91
    let r = t.insert(b"q", &vec![0u8; 14]); // 107: refused
    assert!(matches!(&r, Err(TableError::QuotaExceeded(_))), "{r:?}");
    assert_eq!(t.size().unwrap(), 6);
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
enum HeirCast {
    Add(i64),
    Crash,
    Started(i64),
}

#[derive(serde::Serialize)]
enum HeirCall {
    Get,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_as_heir_keeps_a_childs_table_across_restarts() {
    use foundation::{ChildSpec, Strategy, SupervisorSpec};
    let rt = runtime();
    rt.add_component("heir", foundation_fixtures::HEIR).unwrap();
    let mut probe = rt.probe();
    let args = serde_json::json!({ "table": "tally", "notify": probe.id().get() });
    let spec = SupervisorSpec {
        strategy: Strategy::OneForOne,
        max_restarts: 10,
        children: vec![
            ChildSpec::actor("counter", "heir", foundation::codec::encode(&args).unwrap())
                .name("counter"),
        ],
        ..SupervisorSpec::default()
    };
    let sup = rt.start_supervisor(spec, None).await.unwrap();
    assert_eq!(
        probe.recv::<HeirCast>(LONG).await.unwrap().msg,
        HeirCast::Started(0)
    );
    let counter = rt.whereis("counter").unwrap();
    counter.cast(&HeirCast::Add(5)).await.unwrap();
    counter.cast(&HeirCast::Add(2)).await.unwrap();
    let first = counter.id();
    for _ in 0..2 {
        counter.cast(&HeirCast::Crash).await.unwrap();
        // The new instance starts from the count the old one left.
        assert_eq!(
            probe.recv::<HeirCast>(LONG).await.unwrap().msg,
            HeirCast::Started(7)
        );
    }
    assert_ne!(counter.id(), first, "a fresh instance");
    let n: i64 = counter.call(&HeirCall::Get, LONG).await.unwrap();
    assert_eq!(n, 7);
    // The table is the new instance's own: it writes.
    counter.cast(&HeirCast::Add(1)).await.unwrap();
    let n: i64 = counter.call(&HeirCall::Get, LONG).await.unwrap();
    assert_eq!(n, 8);
    // When the supervisor goes, the table goes with its tree.
    sup.stop(ExitReason::Shutdown).await;
    assert!(matches!(rt.table("tally"), Err(TableError::UnknownName(_))));
}
