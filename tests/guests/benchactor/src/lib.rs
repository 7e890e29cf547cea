//! The actor the benchmark suite measures (`host/benches/runtime`): one small
//! component that plays every role of the Savina workloads, so the figures measure the
//! runtime and not the guests. Messages mirror the Erlang side in `bench/erlang`:
//! tuple variants, which MessagePack encodes as arrays (no field names), as Erlang
//! sends tuples.

use std::time::Duration;

use foundation_sdk::tables::{EntryFrame, KeyFrame, Table, TableAccess, TableOptions};
use foundation_sdk::{Actor, ActorId, CallResult, Caller, Flow};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct Args {
    /// ThreadRing: where this actor forwards the token.
    pub next: Option<ActorId>,
    /// Restart: whom `init` tells `Done` (so the benchmark sees each new instance).
    pub notify_on_init: Option<ActorId>,
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    /// Counting: one small message, counted.
    Add(#[serde(with = "serde_bytes")] Vec<u8>),
    /// PingPong: a ball with `left` bounces still to go, to bounce back to `back`;
    /// the last one tells `done`: `Ball(left, back, done)`.
    Ball(u64, ActorId, ActorId),
    /// ThreadRing: where to forward the token (closes the ring).
    SetNext(ActorId),
    /// ThreadRing: the token with `hops` still to go; at 0 it tells `done`:
    /// `Token(hops, done)`.
    Token(u64, ActorId),
    /// actor→actor calls: make `n` sequential calls to `peer`, then tell `done`:
    /// `CallPeer(peer, n, done)`.
    CallPeer(ActorId, u64, ActorId),
    /// Tables: `writes` inserts of 16-byte values into the table with this id,
    /// cycling over `keys` integer keys, then tell `done`: `TableWrite(table, keys,
    /// writes, done)`.
    TableWrite(u64, u64, u64, ActorId),
    /// Tables: `reads` lookups of pseudo-random keys below `keys`, each asserted
    /// present, then tell `done`: `TableRead(table, keys, reads, done)`.
    TableRead(u64, u64, u64, ActorId),
    /// Tables, in bulk: `writes` inserts as in `TableWrite`, `batch` per
    /// `insert-many`: `TableWriteMany(table, keys, writes, batch, done)`.
    TableWriteMany(u64, u64, u64, u64, ActorId),
    /// Tables, in bulk: `reads` lookups as in `TableRead`, `batch` keys per
    /// `get-many`: `TableReadMany(table, keys, reads, batch, done)`.
    TableReadMany(u64, u64, u64, u64, ActorId),
    /// Durable stores: `n` acknowledged writes of 100-byte values to the store, keys
    /// `{prefix}{i}`, then tell `done`: `KvWrite(store, prefix, n, done)`.
    KvWrite(String, String, u64, ActorId),
    /// Stop with reason `normal`.
    Stop,
    /// What this actor sends to `done` (a probe) when a workload finishes.
    Done,
    /// Restart: panic (a trap), so the supervisor starts a fresh instance.
    Panic,
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    /// How many `Add` casts arrived.
    Count,
    /// Replies with the same bytes.
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Creates a public `set` table owned by this actor; replies `Count(its id)`.
    CreateTable,
    /// The same, durable, under this name.
    CreateDurableTable(String),
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Reply {
    Count(u64),
    Echo(#[serde(with = "serde_bytes")] Vec<u8>),
}

#[derive(Debug)]
pub struct Bench {
    count: u64,
    next: Option<ActorId>,
}

const CALL_TIMEOUT: Duration = Duration::from_secs(30);

fn send(to: ActorId, msg: &Cast) {
    foundation_sdk::cast(to, msg).unwrap_or_else(|e| panic!("cast to {to} failed: {e}"));
}

impl Actor for Bench {
    type Args = Args;
    type Call = Call;
    type Reply = Reply;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        if let Some(to) = args.notify_on_init {
            send(to, &Cast::Done);
        }
        Ok(Bench {
            count: 0,
            next: args.next,
        })
    }

    fn handle_call(&mut self, msg: Call, _from: Caller) -> CallResult<Reply> {
        match msg {
            Call::Count => CallResult::Reply(Reply::Count(self.count)),
            Call::Echo(bytes) => CallResult::Reply(Reply::Echo(bytes)),
            Call::CreateTable => {
                let t = Table::create(&TableOptions {
                    access: TableAccess::Public,
                    max_entries: Some(1 << 24),
                    ..TableOptions::default()
                })
                .expect("create table");
                CallResult::Reply(Reply::Count(t.id()))
            }
            Call::CreateDurableTable(name) => {
                let t = Table::create(&TableOptions {
                    name: Some(name),
                    access: TableAccess::Public,
                    max_entries: Some(1 << 24),
                    durable: true,
                    ..TableOptions::default()
                })
                .expect("create a durable table");
                CallResult::Reply(Reply::Count(t.id()))
            }
        }
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match msg {
            Cast::Add(_) => self.count += 1,
            Cast::Ball(left, back, done) => {
                if left == 0 {
                    send(done, &Cast::Done);
                } else {
                    send(back, &Cast::Ball(left - 1, foundation_sdk::self_id(), done));
                }
            }
            Cast::SetNext(next) => self.next = Some(next),
            Cast::Token(hops, done) => {
                if hops == 0 {
                    send(done, &Cast::Done);
                } else {
                    let next = self.next.expect("a ring member without a next");
                    send(next, &Cast::Token(hops - 1, done));
                }
            }
            Cast::CallPeer(peer, n, done) => {
                for _ in 0..n {
                    let r: Reply =
                        foundation_sdk::call(peer, &Call::Echo(vec![b'x']), CALL_TIMEOUT)
                            .unwrap_or_else(|e| panic!("call to {peer} failed: {e}"));
                    assert!(matches!(r, Reply::Echo(ref b) if b == b"x"), "{r:?}");
                }
                send(done, &Cast::Done);
            }
            Cast::TableWrite(table, keys, writes, done) => {
                let t = Table::open_id(table).expect("open table");
                let value = [7u8; 16];
                for i in 0..writes {
                    t.insert(&(i % keys), &value).expect("insert");
                }
                send(done, &Cast::Done);
            }
            Cast::KvWrite(store, prefix, n, done) => {
                let bucket = foundation_sdk::kv::Bucket::open(&store).expect("open the store");
                let value = [7u8; 100];
                for i in 0..n {
                    bucket
                        .set_raw(&format!("{prefix}{i}"), &value)
                        .expect("a durable write");
                }
                send(done, &Cast::Done);
            }
            Cast::TableRead(table, keys, reads, done) => {
                let t = Table::open_id(table).expect("open table");
                let mut x: u32 = 12345;
                for _ in 0..reads {
                    x = x.wrapping_mul(1664525).wrapping_add(1013904223);
                    let key = u64::from(x) % keys;
                    let found = t.get_raw(&key.to_be_bytes()).expect("lookup");
                    assert!(found.is_some(), "key {key} missing");
                }
                send(done, &Cast::Done);
            }
            Cast::TableWriteMany(table, keys, writes, batch, done) => {
                let t = Table::open_id(table).expect("open table");
                let value = foundation_sdk::codec::encode(&[7u8; 16]).expect("encode");
                let mut frame = EntryFrame::default();
                let mut i = 0;
                while i < writes {
                    frame.clear();
                    for j in i..(i + batch).min(writes) {
                        frame.push(&(j % keys).to_be_bytes(), &value);
                    }
                    i += t.insert_many_raw(&frame).expect("insert-many");
                }
                send(done, &Cast::Done);
            }
            Cast::TableReadMany(table, keys, reads, batch, done) => {
                let t = Table::open_id(table).expect("open table");
                let mut x: u32 = 12345;
                let mut frame = KeyFrame::with_capacity(batch as usize * 12);
                let mut done_reads = 0;
                while done_reads < reads {
                    frame.clear();
                    let n = batch.min(reads - done_reads);
                    for _ in 0..n {
                        x = x.wrapping_mul(1664525).wrapping_add(1013904223);
                        frame.push(&(u64::from(x) % keys).to_be_bytes());
                    }
                    let values = t.get_many_raw(&frame).expect("get-many");
                    let found = values.iter().filter(Option::is_some).count() as u64;
                    assert_eq!(found, n, "keys missing");
                    done_reads += n;
                }
                send(done, &Cast::Done);
            }
            Cast::Stop => return Flow::Stop(foundation_sdk::ExitReason::Normal),
            Cast::Done => {}
            Cast::Panic => panic!("asked to panic"),
        }
        Flow::Continue
    }
}

foundation_sdk::export_actor!(Bench);
