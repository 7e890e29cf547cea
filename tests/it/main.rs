//! Integration tests: one binary, a module per topic (as wasmtime's `tests/all`),
//! against real guest components built by `tests/build.rs`.

mod calls;
mod cli;
mod durability;
mod events;
mod kv;
mod lifecycle;
mod limits;
mod links;
mod mailbox;
mod manifest;
mod model;
mod monitors;
mod sandbox;
mod supervisors;
mod tables;
mod tasks;

use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use foundation::{ActorRef, Runtime, RuntimeBuilder};
use serde::{Deserialize, Serialize};

/// Generous bound for "at once": far below the timeouts the tests pass, far above
/// any scheduling noise on a loaded 2-core machine.
pub const PROMPTLY: Duration = Duration::from_secs(5);
pub const LONG: Duration = Duration::from_secs(30);

/// The messages of `tests/guests/testactor`, mirrored by shape.
#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    Echo(String),
    History,
    Defer,
    AwaitWaiter,
    Panic(String),
    Spin,
    SleepMs(u64),
    SelfId,
    Register(String),
    Unregister(String),
    Whereis(String),
    Spawn {
        component: String,
        name: Option<String>,
    },
    CallEcho {
        to: u64,
        text: String,
        timeout_ms: u64,
    },
    CallDefer {
        to: u64,
        timeout_ms: u64,
    },
    CastRecord {
        to: u64,
        seq: u64,
    },
    BlockOn(u64),
    BlockOnThenPanic(u64),
    Monitor(u64),
    Demonitor(u64),
    MonitorMany {
        target: u64,
        n: u64,
    },
    BlockOnThenDemonitor {
        gate: u64,
        monitor: u64,
    },
    StopWith(String),
    CallSelf {
        timeout_ms: u64,
    },
    Link(u64),
    Unlink(u64),
    SpawnLink {
        fail: bool,
    },
    ExitSignal {
        to: u64,
        reason: String,
    },
    ExitFlood {
        to: u64,
        n: u64,
    },
    TrapExits(bool),
    StartChildOf {
        sup: u64,
        notify: u64,
        tag: String,
    },
    StartTask {
        function: String,
        input: u64,
    },
    StartTaskOf {
        component: String,
        function: String,
        input: u64,
    },
    ShutdownTask,
    StartSupervisor {
        notify: u64,
        tag: String,
    },
    Table(TableCall),
    Event(EventCall),
    Allocate(u64),
    Recurse(u64),
    Sandbox(SandboxCall),
    Kv(KvCall),
}

/// testactor's `KvCall`, by shape.
#[derive(Serialize, Deserialize, Debug)]
pub enum KvCall {
    Open(String),
    Get {
        store: String,
        key: String,
    },
    GetRaw {
        store: String,
        key: String,
    },
    Set {
        store: String,
        key: String,
        value: u64,
    },
    SetRaw {
        store: String,
        key: String,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    Delete {
        store: String,
        key: String,
    },
    Exists {
        store: String,
        key: String,
    },
    ListKeys {
        store: String,
        cursor: Option<String>,
    },
    AllKeys(String),
    Increment {
        store: String,
        key: String,
        delta: i64,
        times: u64,
    },
    Update {
        store: String,
        key: String,
        times: u64,
    },
    CasConflict {
        store: String,
        key: String,
    },
    GetMany {
        store: String,
        keys: Vec<String>,
    },
    SetMany {
        store: String,
        entries: Vec<(String, u64)>,
    },
    DeleteMany {
        store: String,
        keys: Vec<String>,
    },
}

/// testactor's `KvWriter`: see there.
#[derive(Serialize, Debug, Clone)]
pub struct KvWriter {
    pub store: String,
    pub prefix: String,
    pub ack_file: String,
    pub table: Option<String>,
}

/// testactor's `kv_value`: what its kv writer stores under its n-th key.
pub fn kv_value(n: u64) -> Vec<u8> {
    let len = 16 + (n.wrapping_mul(37) % 2000) as usize;
    (0..len)
        .map(|i| (n as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

/// testactor's `EventCall`, by shape.
#[derive(Serialize, Deserialize, Debug)]
pub enum EventCall {
    SendAfter { to: u64, delay_ms: u32, seq: u64 },
    SendInterval { to: u64, period_ms: u32, seq: u64 },
    Cancel(u64),
    Join(String),
    Leave(String),
    Members(String),
    Dispatch { group: String, seq: u64 },
    Subscribe(String),
    Unsubscribe(String),
    Publish { topic: String, seq: u64 },
    BroadcastFrom { topic: String, seq: u64 },
}

/// testactor's `TableCall`, by shape.
#[derive(Serialize, Deserialize, Debug)]
pub enum TableCall {
    Create {
        name: Option<String>,
        kind: String,
        access: String,
        heir: Option<u64>,
        max_entries: Option<u64>,
        max_bytes: Option<u64>,
        durable: bool,
    },
    Open(String),
    Insert {
        table: u64,
        key: String,
        value: u64,
    },
    InsertNew {
        table: u64,
        key: String,
        value: u64,
    },
    Lookup {
        table: u64,
        key: String,
    },
    GetMany {
        table: u64,
        keys: Vec<String>,
    },
    InsertMany {
        table: u64,
        entries: Vec<(String, u64)>,
    },
    Delete {
        table: u64,
        key: String,
    },
    Size(u64),
    Count {
        table: u64,
        key: String,
        times: u64,
    },
    UpdateCounter {
        table: u64,
        key: String,
        incr: i64,
        default: Option<i64>,
    },
    Range {
        table: u64,
        from: Option<String>,
        to: Option<String>,
        limit: u32,
    },
    Prefix {
        table: u64,
        prefix: String,
        from: Option<String>,
        limit: u32,
    },
    GiveAway {
        table: u64,
        to: u64,
    },
    DeleteTable(u64),
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Reply {
    Text(String),
    Id(u64),
    MaybeId(Option<u64>),
    History(Vec<(u64, u64)>),
    Err(String),
    Ok,
    Bool(bool),
    Task { id: u64, monitor: u64 },
}

/// Mirrors the testactor's `SandboxCall`.
#[derive(Serialize, Deserialize, Debug)]
pub enum SandboxCall {
    ReadFile(String),
    WriteFile { path: String, text: String },
    ListDir(String),
    Env(String),
    EnvNames,
    Args,
    Connect(String),
    Listen(String),
    SendLarge { to: u64, bytes: u64 },
    SpawnBomb { max: u64 },
    TableFlood { max: u64 },
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    Record(u64),
    Release(String),
    Panic(String),
    Stop,
    Flood(String),
    Terminated(String),
    Down {
        monitor: u64,
        actor: u64,
        reason: String,
    },
    Exit {
        from: u64,
        reason: String,
    },
    Started(String),
    TaskDone {
        monitor: u64,
        result: String,
    },
    TableTransfer {
        table: u64,
        from: u64,
        data: String,
    },
}

#[derive(Serialize, Default, Debug)]
pub struct Args {
    pub fail: Option<String>,
    pub panic: bool,
    pub name: Option<String>,
    pub notify_on_terminate: Option<u64>,
    pub tag: String,
    pub forward_info: Option<u64>,
    pub trap_exits: bool,
    pub notify_on_init: Option<u64>,
    pub spin_in_init: bool,
    pub panic_in_terminate: bool,
    pub panic_after_ms: Option<u64>,
    pub sleep_in_init_ms: Option<u64>,
    pub flood: Option<String>,
    pub kv_writer: Option<KvWriter>,
}

pub fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .init();
    });
}

/// The compile cache the tests share: a second test run skips compilation.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(foundation_fixtures::WORKSPACE)
        .join("target")
        .join("foundation-cache")
}

/// A fresh directory under the target dir (tests never write outside it).
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(foundation_fixtures::WORKSPACE)
        .join("target")
        .join("scratch-tests")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A builder with test settings: small pool, shared cache.
pub fn builder() -> RuntimeBuilder {
    init_tracing();
    let mut b = Runtime::builder();
    b.cache_dir(Some(cache_dir())).max_instances(64);
    b
}

/// A runtime that knows the `testactor` component.
pub fn runtime_with(b: &RuntimeBuilder) -> Runtime {
    let rt = b.build().expect("runtime builds");
    rt.add_component("testactor", foundation_fixtures::TESTACTOR)
        .expect("testactor loads");
    rt
}

pub fn runtime() -> Runtime {
    runtime_with(&builder())
}

/// A temporary testactor child with default args, to add to a supervisor.
pub fn temporary_testactor() -> foundation::NewChild {
    foundation::NewChild {
        component: "testactor".into(),
        args: foundation::codec::encode(&Args::default()).unwrap(),
        restart: foundation::Restart::Temporary,
        ..foundation::NewChild::default()
    }
}

/// A testactor with default args in a sandbox granting `capabilities`.
pub async fn spawn_in(rt: &Runtime, capabilities: foundation::Capabilities) -> ActorRef {
    rt.spawn_with(
        foundation::ActorOptions::new("testactor").sandbox(foundation::Sandbox {
            capabilities,
            ..foundation::Sandbox::default()
        }),
        &Args::default(),
    )
    .await
    .expect("testactor starts")
}

pub async fn spawn(rt: &Runtime) -> ActorRef {
    rt.spawn("testactor", &Args::default())
        .await
        .expect("testactor starts")
}

/// Blocks `actor` in a call to `gate` (its mailbox fills meanwhile) and returns once
/// the gate holds that call; `Cast::Release` to the gate unblocks it.
pub async fn block(actor: &ActorRef, gate: &ActorRef) {
    hold(actor, gate, Call::BlockOn(gate.id().get())).await
}

/// Like [`block`]; once the gate is released, `actor` traps.
pub async fn block_then_panic(actor: &ActorRef, gate: &ActorRef) {
    hold(actor, gate, Call::BlockOnThenPanic(gate.id().get())).await
}

async fn hold(actor: &ActorRef, gate: &ActorRef, how: Call) {
    assert_eq!(call(actor, how).await, Reply::Ok);
    assert_eq!(call(gate, Call::AwaitWaiter).await, Reply::Ok);
}

pub async fn call(actor: &ActorRef, msg: Call) -> Reply {
    actor.call(&msg, LONG).await.expect("call succeeds")
}
