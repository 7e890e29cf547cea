//! Guest fixture for the integration tests: each message exercises one behaviour of
//! the runtime (replies, deferral, traps, busy loops, names, spawning, nested calls).

use std::time::Duration;

use foundation_sdk::{
    Actor, ActorId, CallResult, Caller, ExitReason, Flow, Info, MonitorRef, NameError, ReplyHandle,
    SpawnError,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default, Debug)]
#[serde(default)]
pub struct Args {
    /// Fail `init` with this error.
    fail: Option<String>,
    /// Panic in `init`.
    panic: bool,
    /// Register under this name during `init`.
    name: Option<String>,
    /// On `terminate`, cast `Terminated(tag)` to this actor.
    notify_on_terminate: Option<u64>,
    tag: String,
    /// Cast every DOWN and exit signal received, as `Cast::Down` or `Cast::Exit`, to
    /// this actor.
    forward_info: Option<u64>,
    /// Trap exits from `init` on.
    trap_exits: bool,
    /// In `init`, cast `Started(tag)` to this actor.
    notify_on_init: Option<u64>,
    /// Loop forever in `init`.
    #[serde(default)]
    spin_in_init: bool,
    /// Panic in `terminate`.
    #[serde(default)]
    panic_in_terminate: bool,
    /// Panic this many milliseconds after `init` (a timer casts `Panic` to itself).
    panic_after_ms: Option<u64>,
    /// Sleep (a WASI wait, not running) this many milliseconds in `init`.
    sleep_in_init_ms: Option<u64>,
    /// After `init`, flood the host with this resource (see `Cast::Flood`).
    flood: Option<String>,
    /// After `init`, write keys to a store without end, acknowledging each; see
    /// `KvWriter`.
    kv_writer: Option<KvWriter>,
}

/// Writes `{prefix}{n}` = `kv_value(n)` (raw bytes) for n = 0, 1, ... to `store`,
/// appending `{prefix}{n}\n` to `ack_file` after each write returned `ok`: what the
/// kill -9 test checks is durable.
#[derive(Deserialize, Debug, Clone)]
pub struct KvWriter {
    store: String,
    prefix: String,
    ack_file: String,
    /// Write to the durable table of this name (created in `init`, an ordered set;
    /// values are MessagePack binaries) instead of the store.
    #[serde(default)]
    table: Option<String>,
}

/// The value the kv writer stores under its n-th key: its length and every byte
/// depend on `n`, so a torn or misplaced value shows.
pub fn kv_value(n: u64) -> Vec<u8> {
    let len = 16 + (n.wrapping_mul(37) % 2000) as usize;
    (0..len)
        .map(|i| (n as usize).wrapping_mul(31).wrapping_add(i) as u8)
        .collect()
}

#[derive(Serialize, Deserialize, Debug)]
pub enum Call {
    Echo(String),
    /// The casts recorded so far, in arrival order.
    History,
    /// Keeps the handle and replies when a `Release` cast comes.
    Defer,
    /// Replies once this actor holds a deferred call (at once if it already does).
    AwaitWaiter,
    Panic(String),
    /// Replies, then loops forever.
    Spin,
    /// Replies, then sleeps (a WASI wait) this many milliseconds.
    SleepMs(u64),
    SelfId,
    Register(String),
    Unregister(String),
    Whereis(String),
    Spawn {
        component: String,
        name: Option<String>,
    },
    /// Calls another actor with `Echo(text)` and reports the outcome.
    CallEcho {
        to: u64,
        text: String,
        timeout_ms: u64,
    },
    /// Calls another actor with `Defer` and reports the outcome.
    CallDefer {
        to: u64,
        timeout_ms: u64,
    },
    CastRecord {
        to: u64,
        seq: u64,
    },
    /// Replies at once, then calls `gate` with `Defer`, which blocks this actor (its
    /// mailbox fills) until the gate is released. The reply tells the caller that the
    /// message has left the mailbox.
    BlockOn(u64),
    /// Like `BlockOn`, then panics once the gate answers (a trap with a full mailbox).
    BlockOnThenPanic(u64),
    /// Monitors `target` `n` times; replies `Ok`, or the first error.
    MonitorMany {
        target: u64,
        n: u64,
    },
    /// Monitors the actor; replies with the monitor ref.
    Monitor(u64),
    /// Replies whether the monitor was active.
    Demonitor(u64),
    /// Like `BlockOn`, then removes `monitor` once the gate releases it and records
    /// whether it was active as `(u64::MAX - 1, 0 or 1)`.
    BlockOnThenDemonitor {
        gate: u64,
        monitor: u64,
    },
    Link(u64),
    Unlink(u64),
    SpawnLink {
        fail: bool,
    },
    /// Sends an exit signal: "normal", "kill" (untrappable) or a custom reason.
    /// Sends `to` `n` exit signals with reasons `flood 0`, `flood 1`, ...; stops at
    /// the first error (`after i: error`).
    ExitFlood {
        to: u64,
        n: u64,
    },
    ExitSignal {
        to: u64,
        reason: String,
    },
    TrapExits(bool),
    /// Replies, then stops with a custom reason.
    StopWith(String),
    /// Calls itself; must time out.
    CallSelf {
        timeout_ms: u64,
    },
    /// Asks supervisor `sup` to start a testactor child that announces itself to
    /// `notify` as `Started(tag)`.
    StartChildOf {
        sup: u64,
        notify: u64,
        tag: String,
    },
    /// Starts task `function` of this component with `input`; replies with the
    /// task's monitor ref and keeps the task for `ShutdownTask`.
    StartTask {
        function: String,
        input: u64,
    },
    /// Starts task `function` of another component with `input`, as `StartTask`.
    StartTaskOf {
        component: String,
        function: String,
        input: u64,
    },
    /// Shuts the last started task down; replies whether it was running.
    ShutdownTask,
    /// Starts a supervisor (linked to this actor) with one testactor child that
    /// announces itself to `notify` as `Started(tag)`.
    StartSupervisor {
        notify: u64,
        tag: String,
    },
    /// A table operation; see `TableCall`.
    Table(TableCall),
    /// A timer, group or pub/sub operation; see `EventCall`.
    Event(EventCall),
    /// Allocates and touches this many MiB, then replies `Ok`.
    Allocate(u64),
    /// Recurses this deep (each frame keeps a small array alive), then replies.
    Recurse(u64),
    /// A probe of the sandbox; see `SandboxCall`.
    Sandbox(SandboxCall),
    /// A key-value store operation; see `KvCall`.
    Kv(KvCall),
}

/// Operations on the store `store` (opened each time) through `wasi:keyvalue`. Typed
/// values are u64s. Results come back as `Reply::Text` of their Debug form, errors as
/// `Reply::Err` of the error's Display form.
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
    /// One page: replies `Text` of `(keys, cursor)`.
    ListKeys {
        store: String,
        cursor: Option<String>,
    },
    /// Every key through the paging iterator: replies `Text` of `(count, first, last)`.
    AllKeys(String),
    /// `times` increments by `delta`, one call each: replies the last value.
    Increment {
        store: String,
        key: String,
        delta: i64,
        times: u64,
    },
    /// `times` read-modify-writes adding 1 through compare-and-swap.
    Update {
        store: String,
        key: String,
        times: u64,
    },
    /// Reads `key` for a swap, sets it in between, then swaps: replies `Text` of
    /// what the swap said, then of a retry on the fresh handle.
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

/// Probes of what the sandbox allows. I/O errors come back as
/// `Err("{ErrorKind:?}: {error}")`.
#[derive(Serialize, Deserialize, Debug)]
pub enum SandboxCall {
    /// Replies `Text(contents)`.
    ReadFile(String),
    /// Replies `Ok`.
    WriteFile { path: String, text: String },
    /// Replies `Text` of the entry names, sorted, comma-separated.
    ListDir(String),
    /// Replies `Text(value)`, or `Err("not set")`.
    Env(String),
    /// Replies `Text` of every variable name, sorted, comma-separated.
    EnvNames,
    /// Replies `Text` of the arguments, comma-separated.
    Args,
    /// Opens a TCP connection to `addr` (`host:port`); replies `Ok`.
    Connect(String),
    /// Listens on TCP `addr`; replies `Ok`.
    Listen(String),
    /// Casts a byte string of `bytes` bytes to `to`; replies `Ok` or `Err(error)`.
    SendLarge { to: u64, bytes: u64 },
    /// Spawns testactors until refused, at most `max`; replies
    /// `Text("spawned N: error")` (or `"spawned N"`).
    SpawnBomb { max: u64 },
    /// Creates tables until refused, at most `max`; replies `Text("created N: error")`.
    TableFlood { max: u64 },
}

/// Timer, group and pub/sub operations. Messages sent are `Cast::Record(seq)`.
/// Fan-outs reply `Text("delivered/dead-letters")`; errors `Err(Debug form)`.
#[derive(Serialize, Deserialize, Debug)]
pub enum EventCall {
    /// Replies `Id(timer ref)`.
    SendAfter {
        to: u64,
        delay_ms: u32,
        seq: u64,
    },
    /// Replies `Id(timer ref)`.
    SendInterval {
        to: u64,
        period_ms: u32,
        seq: u64,
    },
    /// Replies `Bool`.
    Cancel(u64),
    Join(String),
    /// Replies `Bool`.
    Leave(String),
    /// Replies `Text` of the member ids.
    Members(String),
    Dispatch {
        group: String,
        seq: u64,
    },
    Subscribe(String),
    /// Replies `Bool`.
    Unsubscribe(String),
    Publish {
        topic: String,
        seq: u64,
    },
    BroadcastFrom {
        topic: String,
        seq: u64,
    },
}

/// Table operations on the table with id `table` (opened by id each time). Values
/// are u64s; keys strings. Results come back as `Reply::Text` of their Debug form,
/// errors as `Reply::Err` of the error's Debug form.
#[derive(Serialize, Deserialize, Debug)]
pub enum TableCall {
    /// Replies `Id(table id)`. kind: set, ordered, bag, dbag; access: protected,
    /// private, public.
    Create {
        name: Option<String>,
        kind: String,
        access: String,
        heir: Option<u64>,
        max_entries: Option<u64>,
        max_bytes: Option<u64>,
        #[serde(default)]
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
    /// `get-many`: replies `Text` of the `Vec<Option<u64>>`.
    GetMany {
        table: u64,
        keys: Vec<String>,
    },
    /// `insert-many`: replies `Text` of the count written.
    InsertMany {
        table: u64,
        entries: Vec<(String, u64)>,
    },
    Delete {
        table: u64,
        key: String,
    },
    Size(u64),
    /// `times` increments of `key` by 1 (default 0), one call each.
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

#[derive(Serialize, Deserialize, Debug)]
pub enum Cast {
    /// Recorded with its sender, for ordering tests.
    Record(u64),
    /// Answers every deferred call with this text.
    Release(String),
    Panic(String),
    /// The kv writer's next write (see `KvWriter`).
    KvWrite(u64),
    Stop,
    /// Holds ever more of one resource (`monitors`, `timers`, `subscriptions`,
    /// `groups`) until the host refuses, then logs `flood KIND stopped after N: ERR`.
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

/// The history entry of a cast that did not decode.
pub const UNEXPECTED: u64 = u64::MAX - 2;

struct TestActor {
    history: Vec<(u64, u64)>,
    deferred: Vec<ReplyHandle>,
    watchers: Vec<ReplyHandle>,
    notify_on_terminate: Option<u64>,
    tag: String,
    forward_info: Option<u64>,
    tasks: Vec<foundation_sdk::Task>,
    panic_in_terminate: bool,
    kv_writer: Option<KvWriter>,
}

fn outcome<T: std::fmt::Debug>(r: Result<T, foundation_sdk::SendError>) -> Reply {
    match r {
        Ok(v) => Reply::Text(format!("{v:?}")),
        Err(e) => Reply::Err(format!("{e:?}")),
    }
}

impl TestActor {
    /// Starts task `function` of `component`; keeps it for `ShutdownTask`.
    fn start_task(&mut self, component: &str, function: &str, input: u64) -> Reply {
        match foundation_sdk::start_task(component, function, &input) {
            Ok(task) => {
                self.tasks.push(task);
                Reply::Task {
                    id: task.id.get(),
                    monitor: task.monitor.get(),
                }
            }
            Err(e) => Reply::Err(spawn_error(e)),
        }
    }
}

impl Actor for TestActor {
    type Args = Args;
    type Call = Call;
    type Reply = Reply;
    type Cast = Cast;

    fn init(args: Args) -> Result<Self, String> {
        if let Some(e) = args.fail {
            return Err(e);
        }
        if args.panic {
            panic!("init was told to panic");
        }
        if args.trap_exits {
            foundation_sdk::trap_exits(true);
        }
        if args.spin_in_init {
            spin();
        }
        if let Some(name) = args.kv_writer.as_ref().and_then(|w| w.table.as_ref()) {
            use foundation_sdk::tables::{Table, TableKind, TableOptions};
            Table::create(&TableOptions {
                name: Some(name.clone()),
                kind: TableKind::OrderedSet,
                durable: true,
                ..TableOptions::default()
            })
            .map_err(|e| format!("durable table {name}: {e:?}"))?;
        }
        if let Some(writer) = &args.kv_writer {
            foundation_sdk::cast(foundation_sdk::self_id(), &Cast::KvWrite(0))
                .map_err(|e| format!("kv writer {writer:?}: {e}"))?;
        }
        if let Some(kind) = &args.flood {
            foundation_sdk::cast(foundation_sdk::self_id(), &Cast::Flood(kind.clone()))
                .map_err(|e| format!("flood: {e}"))?;
        }
        if let Some(ms) = args.sleep_in_init_ms {
            std::thread::sleep(Duration::from_millis(ms));
        }
        if let Some(to) = args.notify_on_init {
            let _ = foundation_sdk::cast(id(to), &Cast::Started(args.tag.clone()));
        }
        if let Some(ms) = args.panic_after_ms {
            foundation_sdk::events::send_after(
                foundation_sdk::self_id(),
                Duration::from_millis(ms),
                &Cast::Panic(format!("{} panics as told, after {ms} ms", args.tag)),
            )
            .map_err(|e| format!("send_after: {e:?}"))?;
        }
        if let Some(name) = &args.name {
            foundation_sdk::register(name).map_err(|e| format!("register {name}: {e:?}"))?;
        }
        Ok(TestActor {
            history: Vec::new(),
            deferred: Vec::new(),
            watchers: Vec::new(),
            tasks: Vec::new(),
            notify_on_terminate: args.notify_on_terminate,
            panic_in_terminate: args.panic_in_terminate,
            tag: args.tag,
            forward_info: args.forward_info,
            kv_writer: args.kv_writer,
        })
    }

    fn handle_call(&mut self, msg: Call, from: Caller) -> CallResult<Reply> {
        let reply = match msg {
            Call::Echo(s) => Reply::Text(s),
            Call::History => Reply::History(self.history.clone()),
            Call::Defer => {
                self.deferred.push(from.defer());
                for watcher in self.watchers.drain(..) {
                    let _ = watcher.reply(&Reply::Ok);
                }
                return CallResult::NoReply;
            }
            Call::AwaitWaiter => {
                if self.deferred.is_empty() {
                    self.watchers.push(from.defer());
                    return CallResult::NoReply;
                }
                Reply::Ok
            }
            Call::Panic(m) => panic!("{m}"),
            Call::Spin => {
                let _ = from.defer().reply(&Reply::Ok);
                spin()
            }
            Call::SleepMs(ms) => {
                let _ = from.defer().reply(&Reply::Ok);
                std::thread::sleep(Duration::from_millis(ms));
                return CallResult::NoReply;
            }
            Call::SelfId => Reply::Id(foundation_sdk::self_id().get()),
            Call::Register(n) => match foundation_sdk::register(&n) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Err(name_error(e)),
            },
            Call::Unregister(n) => match foundation_sdk::unregister(&n) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Err(name_error(e)),
            },
            Call::Whereis(n) => Reply::MaybeId(foundation_sdk::whereis(&n).map(ActorId::get)),
            Call::Spawn { component, name } => {
                let args = SpawnArgs { name };
                match foundation_sdk::spawn(&component, &args) {
                    Ok(id) => Reply::Id(id.get()),
                    Err(e) => Reply::Err(spawn_error(e)),
                }
            }
            Call::CallEcho {
                to,
                text,
                timeout_ms,
            } => outcome(foundation_sdk::call::<_, Reply>(
                id(to),
                &Call::Echo(text),
                Duration::from_millis(timeout_ms),
            )),
            Call::CallDefer { to, timeout_ms } => outcome(foundation_sdk::call::<_, Reply>(
                id(to),
                &Call::Defer,
                Duration::from_millis(timeout_ms),
            )),
            Call::CastRecord { to, seq } => {
                match foundation_sdk::cast(id(to), &Cast::Record(seq)) {
                    Ok(()) => Reply::Ok,
                    Err(e) => Reply::Err(format!("{e:?}")),
                }
            }
            Call::BlockOn(gate) => {
                let _ = from.defer().reply(&Reply::Ok);
                let _ = foundation_sdk::call::<_, Reply>(
                    id(gate),
                    &Call::Defer,
                    Duration::from_secs(60),
                );
                return CallResult::NoReply;
            }
            Call::BlockOnThenPanic(gate) => {
                let _ = from.defer().reply(&Reply::Ok);
                let _ = foundation_sdk::call::<_, Reply>(
                    id(gate),
                    &Call::Defer,
                    Duration::from_secs(60),
                );
                panic!("released, and trapping with a full mailbox");
            }
            Call::MonitorMany { target, n } => {
                for i in 0..n {
                    if let Err(e) = foundation_sdk::monitor(id(target)) {
                        return CallResult::Reply(Reply::Err(format!("after {i}: {e:?}")));
                    }
                }
                Reply::Ok
            }
            Call::Monitor(target) => match foundation_sdk::monitor(id(target)) {
                Ok(m) => Reply::Id(m.get()),
                Err(e) => Reply::Err(format!("{e:?}")),
            },
            Call::Demonitor(monitor) => Reply::Bool(demonitor(monitor)),
            Call::BlockOnThenDemonitor { gate, monitor } => {
                let _ = from.defer().reply(&Reply::Ok);
                let _ = foundation_sdk::call::<_, Reply>(
                    id(gate),
                    &Call::Defer,
                    Duration::from_secs(60),
                );
                let was_active = demonitor(monitor);
                self.history.push((u64::MAX - 1, u64::from(was_active)));
                return CallResult::NoReply;
            }
            Call::Link(target) => match foundation_sdk::link(id(target)) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Err(format!("{e:?}")),
            },
            Call::Unlink(target) => {
                foundation_sdk::unlink(id(target));
                Reply::Ok
            }
            Call::SpawnLink { fail } => {
                let args = ChildArgs {
                    fail: fail.then(|| "refused".to_string()),
                };
                match foundation_sdk::spawn_link("testactor", &args) {
                    Ok(child) => Reply::Id(child.get()),
                    Err(e) => Reply::Err(spawn_error(e)),
                }
            }
            Call::ExitSignal { to, reason } => {
                let reason = match reason.as_str() {
                    "normal" => ExitReason::Normal,
                    "kill" => ExitReason::Killed,
                    other => ExitReason::Custom(other.to_string()),
                };
                match foundation_sdk::exit(id(to), reason) {
                    Ok(()) => Reply::Ok,
                    Err(e) => Reply::Err(format!("{e:?}")),
                }
            }
            Call::ExitFlood { to, n } => {
                for i in 0..n {
                    let reason = ExitReason::Custom(format!("flood {i}"));
                    if let Err(e) = foundation_sdk::exit(id(to), reason) {
                        return CallResult::Reply(Reply::Err(format!("after {i}: {e:?}")));
                    }
                }
                Reply::Ok
            }
            Call::StartSupervisor { notify, tag } => {
                use foundation_sdk::supervisor::{Child, NewChild, SupervisorSpec};
                let args = NotifyArgs {
                    notify_on_init: notify,
                    tag: tag.clone(),
                };
                let mut child = NewChild::new("testactor", &args).expect("encodes");
                child.name = Some(tag);
                let spec = SupervisorSpec {
                    max_restarts: 5,
                    children: vec![Child::Actor(child)],
                    ..SupervisorSpec::default()
                };
                match foundation_sdk::supervisor::start(&spec) {
                    Ok(sup) => Reply::Id(sup.get()),
                    Err(e) => Reply::Err(spawn_error(e)),
                }
            }
            Call::StartChildOf { sup, notify, tag } => {
                let args = NotifyArgs {
                    notify_on_init: notify,
                    tag,
                };
                let child =
                    foundation_sdk::supervisor::NewChild::new("testactor", &args).expect("encodes");
                match foundation_sdk::supervisor::start_child(id(sup), &child) {
                    Ok(child) => Reply::Id(child.get()),
                    Err(e) => Reply::Err(format!("{e:?}")),
                }
            }
            Call::StartTask { function, input } => self.start_task("testactor", &function, input),
            Call::StartTaskOf {
                component,
                function,
                input,
            } => self.start_task(&component, &function, input),
            Call::ShutdownTask => match self.tasks.pop() {
                Some(task) => Reply::Bool(foundation_sdk::shutdown_task(task)),
                None => Reply::Err("no task".into()),
            },
            Call::TrapExits(enabled) => Reply::Bool(foundation_sdk::trap_exits(enabled)),
            Call::Table(op) => table_call(op),
            Call::Kv(op) => kv_call(op),
            Call::Event(op) => event_call(op),
            Call::Allocate(mib) => {
                let v = vec![1u8; (mib as usize) << 20];
                std::hint::black_box(&v);
                Reply::Ok
            }
            Call::Recurse(depth) => Reply::Text(recurse(depth).to_string()),
            Call::Sandbox(probe) => sandbox_call(probe),
            Call::StopWith(reason) => {
                return CallResult::Stop {
                    reason: ExitReason::Custom(reason),
                    reply: Some(Reply::Ok),
                };
            }
            Call::CallSelf { timeout_ms } => outcome(foundation_sdk::call::<_, Reply>(
                foundation_sdk::self_id(),
                &Call::Echo("me".into()),
                Duration::from_millis(timeout_ms),
            )),
        };
        CallResult::Reply(reply)
    }

    fn handle_cast(&mut self, msg: Cast) -> Flow {
        match msg {
            Cast::Record(seq) => self.history.push((0, seq)),
            Cast::Release(text) => {
                for handle in self.deferred.drain(..) {
                    let _ = handle.reply(&Reply::Text(text.clone()));
                }
            }
            Cast::Panic(m) => panic!("{m}"),
            Cast::KvWrite(n) => {
                let Some(w) = &self.kv_writer else {
                    return Flow::Continue;
                };
                let key = format!("{}{n}", w.prefix);
                // A failed write is the writer's end: the test sees no ack for it.
                if let Some(table) = &w.table {
                    let table = foundation_sdk::tables::Table::open(table).expect("open the table");
                    let value = serde_bytes::ByteBuf::from(kv_value(n));
                    table.insert(key.as_str(), &value).expect("a durable write");
                } else {
                    let bucket =
                        foundation_sdk::kv::Bucket::open(&w.store).expect("open the store");
                    bucket.set_raw(&key, &kv_value(n)).expect("a durable write");
                }
                use std::io::Write;
                let mut acks = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&w.ack_file)
                    .expect("open the ack file");
                acks.write_all(format!("{key}\n").as_bytes()).expect("ack");
                let _ = foundation_sdk::cast(foundation_sdk::self_id(), &Cast::KvWrite(n + 1));
            }
            Cast::Flood(kind) => {
                let (n, why) = flood(&kind);
                foundation_sdk::log::warn(&format!("flood {kind} stopped after {n}: {why}"));
            }
            Cast::Stop => return Flow::Stop(ExitReason::Normal),
            Cast::Terminated(tag) => self.history.push((u64::MAX, tag.len() as u64)),
            Cast::Down { .. }
            | Cast::Exit { .. }
            | Cast::Started(_)
            | Cast::TaskDone { .. }
            | Cast::TableTransfer { .. } => {}
        }
        Flow::Continue
    }

    /// Records each cast that does not decode as `(sender, UNEXPECTED)`, so tests
    /// see that it was offered here and that the actor went on.
    fn handle_unexpected(&mut self, _raw: &[u8], from: Option<ActorId>) -> Flow {
        self.history
            .push((from.map_or(0, |id| id.get()), UNEXPECTED));
        Flow::Continue
    }

    fn handle_info(&mut self, info: Info) -> Flow {
        let forward = match info {
            Info::Down {
                monitor,
                actor,
                reason,
            } => Cast::Down {
                monitor: monitor.get(),
                actor: actor.get(),
                reason: reason.to_string(),
            },
            Info::Exit { from, reason } => Cast::Exit {
                from: from.get(),
                reason: reason.to_string(),
            },
            Info::TaskDone { monitor, result } => Cast::TaskDone {
                monitor: monitor.get(),
                result: match result {
                    Ok(bytes) => format!(
                        "ok:{}",
                        foundation_sdk::codec::decode::<u64>(&bytes).unwrap()
                    ),
                    Err(e) => format!("err:{e}"),
                },
            },
            Info::TableTransfer { table, from, data } => Cast::TableTransfer {
                table,
                from: from.map_or(0, |a| a.get()),
                data: String::from_utf8_lossy(&data).into_owned(),
            },
            _ => return Flow::Continue,
        };
        if let Some(to) = self.forward_info {
            let _ = foundation_sdk::cast(id(to), &forward);
        }
        Flow::Continue
    }

    fn terminate(&mut self, reason: ExitReason) {
        foundation_sdk::log::info(&format!("terminating: {reason}"));
        if let Some(to) = self.notify_on_terminate {
            let _ = foundation_sdk::cast(id(to), &Cast::Terminated(self.tag.clone()));
        }
        if self.panic_in_terminate {
            panic!("terminate asked to panic");
        }
    }
}

#[derive(Serialize)]
struct NotifyArgs {
    notify_on_init: u64,
    tag: String,
}

#[derive(Serialize)]
struct ChildArgs {
    fail: Option<String>,
}

#[derive(Serialize)]
struct SpawnArgs {
    name: Option<String>,
}

fn name_error(e: NameError) -> String {
    match e {
        NameError::AlreadyRegistered => "AlreadyRegistered",
        NameError::AlreadyNamed => "AlreadyNamed",
        NameError::NotRegistered => "NotRegistered",
        NameError::InvalidName => "InvalidName",
    }
    .to_string()
}

fn spawn_error(e: SpawnError) -> String {
    match e {
        SpawnError::UnknownComponent(c) => format!("UnknownComponent({c})"),
        SpawnError::InitFailed(r) => format!("InitFailed({})", ExitReason::from(r)),
        SpawnError::Unavailable(m) => format!("Unavailable({m})"),
        SpawnError::QuotaExceeded(m) => format!("QuotaExceeded({m})"),
    }
}

/// Monitor refs travel as raw numbers in test messages.
fn demonitor(raw: u64) -> bool {
    foundation_sdk::demonitor(MonitorRef::from_raw(raw))
}

fn id(raw: u64) -> ActorId {
    ActorId::from_raw(raw).expect("actor ids are never 0")
}

#[allow(clippy::empty_loop)]
fn spin() -> ! {
    loop {}
}

/// Task functions: `double` returns twice its input, `spin_ms` burns CPU for that
/// many milliseconds and returns them, `panic` panics, `fail` returns an error.
fn tasks(function: &str, input: &[u8]) -> Result<Vec<u8>, String> {
    let n: u64 = foundation_sdk::codec::decode(input).map_err(|e| e.to_string())?;
    let out = match function {
        "double" => n * 2,
        "spin_ms" => {
            let start = std::time::Instant::now();
            let mut x = 0u64;
            while start.elapsed() < Duration::from_millis(n) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            std::hint::black_box(x);
            n
        }
        "sleep_ms" => {
            std::thread::sleep(Duration::from_millis(n));
            n
        }
        "panic" => panic!("task asked to panic with {n}"),
        "fail" => return Err(format!("failed on {n}")),
        other => return Err(format!("no task function {other:?}")),
    };
    foundation_sdk::codec::encode(&out).map_err(|e| e.to_string())
}

foundation_sdk::export_actor!(TestActor, tasks = tasks);

fn sandbox_call(probe: SandboxCall) -> Reply {
    fn io<T>(r: std::io::Result<T>, ok: impl FnOnce(T) -> Reply) -> Reply {
        match r {
            Ok(v) => ok(v),
            Err(e) => Reply::Err(format!("{:?}: {e}", e.kind())),
        }
    }
    match probe {
        SandboxCall::ReadFile(path) => io(std::fs::read_to_string(path), Reply::Text),
        SandboxCall::WriteFile { path, text } => io(std::fs::write(path, text), |()| Reply::Ok),
        SandboxCall::ListDir(path) => io(
            std::fs::read_dir(path).and_then(|d| {
                let mut names = d
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<std::io::Result<Vec<_>>>()?;
                names.sort();
                Ok(names.join(","))
            }),
            Reply::Text,
        ),
        SandboxCall::Env(key) => match std::env::var(key) {
            Ok(v) => Reply::Text(v),
            Err(_) => Reply::Err("not set".into()),
        },
        SandboxCall::EnvNames => {
            let mut names: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
            names.sort();
            Reply::Text(names.join(","))
        }
        SandboxCall::Args => Reply::Text(std::env::args().collect::<Vec<_>>().join(",")),
        SandboxCall::Connect(addr) => io(std::net::TcpStream::connect(addr), |_| Reply::Ok),
        SandboxCall::Listen(addr) => io(std::net::TcpListener::bind(addr), |_| Reply::Ok),
        SandboxCall::SendLarge { to, bytes } => {
            let big = vec![7u8; bytes as usize];
            match foundation_sdk::cast(id(to), serde_bytes::Bytes::new(&big)) {
                Ok(()) => Reply::Ok,
                Err(e) => Reply::Err(format!("{e:?}")),
            }
        }
        SandboxCall::SpawnBomb { max } => {
            let mut n = 0;
            while n < max {
                match foundation_sdk::spawn("testactor", &SpawnArgs { name: None }) {
                    Ok(_) => n += 1,
                    Err(e) => return Reply::Text(format!("spawned {n}: {}", spawn_error(e))),
                }
            }
            Reply::Text(format!("spawned {n}"))
        }
        SandboxCall::TableFlood { max } => {
            use foundation_sdk::tables::{Table, TableOptions};
            let mut tables = Vec::new();
            while (tables.len() as u64) < max {
                match Table::create(&TableOptions::default()) {
                    Ok(t) => tables.push(t),
                    Err(e) => return Reply::Text(format!("created {}: {e:?}", tables.len())),
                }
            }
            Reply::Text(format!("created {}", tables.len()))
        }
    }
}

fn kv_call(op: KvCall) -> Reply {
    use foundation_sdk::kv::{Bucket, CasError, KvError};
    fn shown<T: std::fmt::Debug, E: Into<KvError>>(r: Result<T, E>) -> Reply {
        match r.map_err(Into::into) {
            Ok(v) => Reply::Text(format!("{v:?}")),
            Err(e) => Reply::Err(e.to_string()),
        }
    }
    let open = |store: &str| Bucket::open(store).map_err(KvError::from);
    match op {
        KvCall::Open(store) => shown(open(&store).map(|_| ())),
        KvCall::Get { store, key } => shown(open(&store).and_then(|b| b.get::<u64>(&key))),
        KvCall::GetRaw { store, key } => shown(open(&store).and_then(|b| {
            Ok(b.get_raw(&key)?
                .map(|v| String::from_utf8_lossy(&v).into_owned()))
        })),
        KvCall::Set { store, key, value } => shown(open(&store).and_then(|b| b.set(&key, &value))),
        KvCall::SetRaw { store, key, bytes } => {
            shown(open(&store).and_then(|b| Ok(b.set_raw(&key, &bytes)?)))
        }
        KvCall::Delete { store, key } => shown(open(&store).and_then(|b| Ok(b.delete(&key)?))),
        KvCall::Exists { store, key } => shown(open(&store).and_then(|b| Ok(b.exists(&key)?))),
        KvCall::ListKeys { store, cursor } => shown(open(&store).and_then(|b| {
            let page = b.list_keys(cursor.as_deref())?;
            Ok((page.keys, page.cursor))
        })),
        KvCall::AllKeys(store) => shown(open(&store).and_then(|b| {
            let keys = b.keys().collect::<Result<Vec<_>, _>>()?;
            Ok((keys.len(), keys.first().cloned(), keys.last().cloned()))
        })),
        KvCall::Increment {
            store,
            key,
            delta,
            times,
        } => shown(open(&store).and_then(|b| {
            let mut last = None;
            for _ in 0..times {
                last = Some(b.increment(&key, delta)?);
            }
            Ok(last)
        })),
        KvCall::Update { store, key, times } => shown(open(&store).and_then(|b| {
            let mut last = 0;
            for _ in 0..times {
                last = b.update(&key, |old: Option<u64>| old.unwrap_or(0) + 1)?;
            }
            Ok(last)
        })),
        KvCall::CasConflict { store, key } => shown(open(&store).and_then(|b| {
            let cas = b.cas(&key)?;
            let seen = cas.current()?;
            b.set_raw(&key, b"between")?;
            let first = match cas.swap(b"mine") {
                Ok(()) => "swapped".to_string(),
                Err(CasError::Conflict(now)) => {
                    let current = now
                        .current()?
                        .map(|v| String::from_utf8_lossy(&v).into_owned());
                    let retry = match now.swap(b"mine") {
                        Ok(()) => "retry swapped".to_string(),
                        Err(e) => format!("retry {e:?}"),
                    };
                    format!("conflict, now {current:?}; {retry}")
                }
                Err(CasError::Store(e)) => format!("store error {e}"),
            };
            Ok((
                seen.map(|v| String::from_utf8_lossy(&v).into_owned()),
                first,
            ))
        })),
        KvCall::GetMany { store, keys } => shown(open(&store).and_then(|b| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            b.get_many::<u64>(&keys)
        })),
        KvCall::SetMany { store, entries } => shown(open(&store).and_then(|b| {
            let entries: Vec<(&str, u64)> = entries.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            b.set_many(&entries)
        })),
        KvCall::DeleteMany { store, keys } => shown(open(&store).and_then(|b| {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            Ok(b.delete_many(&keys)?)
        })),
    }
}

fn table_call(op: TableCall) -> Reply {
    use foundation_sdk::tables::{Table, TableAccess, TableKind, TableOptions};
    fn shown<T: std::fmt::Debug>(r: Result<T, foundation_sdk::tables::TableError>) -> Reply {
        match r {
            Ok(v) => Reply::Text(format!("{v:?}")),
            Err(e) => Reply::Err(format!("{e:?}")),
        }
    }
    let open = |id: u64| Table::open_id(id);
    match op {
        TableCall::Create {
            name,
            kind,
            access,
            heir,
            max_entries,
            max_bytes,
            durable,
        } => {
            let options = TableOptions {
                name,
                kind: match kind.as_str() {
                    "set" => TableKind::Set,
                    "ordered" => TableKind::OrderedSet,
                    "bag" => TableKind::Bag,
                    "dbag" => TableKind::DuplicateBag,
                    other => panic!("unknown kind {other}"),
                },
                access: match access.as_str() {
                    "protected" => TableAccess::Protected,
                    "private" => TableAccess::Private,
                    "public" => TableAccess::Public,
                    other => panic!("unknown access {other}"),
                },
                heir: heir.map(|h| (id(h), b"heir-data".to_vec())),
                max_entries,
                max_bytes,
                durable,
            };
            match Table::create(&options) {
                Ok(t) => Reply::Id(t.id()),
                Err(e) => Reply::Err(format!("{e:?}")),
            }
        }
        TableCall::Open(name) => match Table::open(&name) {
            Ok(t) => Reply::Id(t.id()),
            Err(e) => Reply::Err(format!("{e:?}")),
        },
        TableCall::Insert { table, key, value } => {
            shown(open(table).and_then(|t| t.insert(&key, &value)))
        }
        TableCall::InsertNew { table, key, value } => {
            shown(open(table).and_then(|t| t.insert_new(&key, &value)))
        }
        TableCall::Lookup { table, key } => shown(open(table).and_then(|t| t.lookup::<u64>(&key))),
        TableCall::GetMany { table, keys } => {
            shown(open(table).and_then(|t| t.get_many::<_, u64>(&keys)))
        }
        TableCall::InsertMany { table, entries } => {
            shown(open(table).and_then(|t| t.insert_many(&entries)))
        }
        TableCall::Delete { table, key } => shown(open(table).and_then(|t| t.delete(&key))),
        TableCall::Size(table) => shown(open(table).and_then(|t| t.size())),
        TableCall::Count { table, key, times } => shown(open(table).and_then(|t| {
            for _ in 0..times {
                t.update_counter(&key, 1, Some(0))?;
            }
            Ok(())
        })),
        TableCall::UpdateCounter {
            table,
            key,
            incr,
            default,
        } => shown(open(table).and_then(|t| t.update_counter(&key, incr, default))),
        TableCall::Range {
            table,
            from,
            to,
            limit,
        } => shown(open(table).and_then(|t| {
            page(t.range::<u64>(
                from.as_deref().map(str::as_bytes),
                to.as_deref().map(str::as_bytes),
                limit,
            )?)
        })),
        TableCall::Prefix {
            table,
            prefix,
            from,
            limit,
        } => shown(open(table).and_then(|t| {
            page(t.prefix::<u64>(prefix.as_bytes(), from.as_deref().map(str::as_bytes), limit)?)
        })),
        TableCall::GiveAway { table, to } => {
            shown(open(table).and_then(|t| t.give_away(id(to), b"gift")))
        }
        TableCall::DeleteTable(table) => shown(open(table).and_then(|t| t.delete_table())),
    }
}

/// A page as `([(key, value)], next)` with string keys, for readable assertions.
#[allow(clippy::type_complexity)]
fn page(
    (entries, next): foundation_sdk::tables::Page<u64>,
) -> Result<(Vec<(String, u64)>, Option<String>), foundation_sdk::tables::TableError> {
    Ok((
        entries
            .into_iter()
            .map(|(k, v)| (String::from_utf8(k).unwrap(), v))
            .collect(),
        next.map(|n| String::from_utf8(n).unwrap()),
    ))
}

fn event_call(op: EventCall) -> Reply {
    use foundation_sdk::events::{self, EventError, Fanout};
    use std::time::Duration;
    fn fanout(r: Result<Fanout, EventError>) -> Reply {
        match r {
            Ok(f) => Reply::Text(format!("{}/{}", f.delivered, f.dead_letters)),
            Err(e) => Reply::Err(format!("{e:?}")),
        }
    }
    fn done<T>(r: Result<T, EventError>, f: impl FnOnce(T) -> Reply) -> Reply {
        match r {
            Ok(v) => f(v),
            Err(e) => Reply::Err(format!("{e:?}")),
        }
    }
    match op {
        EventCall::SendAfter { to, delay_ms, seq } => done(
            events::send_after(
                id(to),
                Duration::from_millis(delay_ms.into()),
                &Cast::Record(seq),
            ),
            |t| Reply::Id(t.get()),
        ),
        EventCall::SendInterval { to, period_ms, seq } => done(
            events::send_interval(
                id(to),
                Duration::from_millis(period_ms.into()),
                &Cast::Record(seq),
            ),
            |t| Reply::Id(t.get()),
        ),
        EventCall::Cancel(t) => Reply::Bool(events::cancel_timer(events::TimerRef::from_raw(t))),
        EventCall::Join(g) => done(events::join(&g), |()| Reply::Ok),
        EventCall::Leave(g) => done(events::leave(&g), Reply::Bool),
        EventCall::Members(g) => done(events::members(&g), |m| {
            Reply::Text(format!(
                "{:?}",
                m.iter().map(|a| a.get()).collect::<Vec<_>>()
            ))
        }),
        EventCall::Dispatch { group, seq } => fanout(events::dispatch(&group, &Cast::Record(seq))),
        EventCall::Subscribe(p) => done(events::subscribe(&p), |()| Reply::Ok),
        EventCall::Unsubscribe(p) => done(events::unsubscribe(&p), Reply::Bool),
        EventCall::Publish { topic, seq } => fanout(events::publish(&topic, &Cast::Record(seq))),
        EventCall::BroadcastFrom { topic, seq } => {
            fanout(events::broadcast_from(&topic, &Cast::Record(seq)))
        }
    }
}

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 16]);
    if depth == 0 {
        return frame[0];
    }
    recurse(depth - 1).wrapping_add(frame[15])
}

/// Takes one more unit of `kind` until the host refuses (or ten million, which no
/// bounded host allows); returns how many it got and why it stopped.
fn flood(kind: &str) -> (u64, String) {
    use foundation_sdk::events;
    let me = foundation_sdk::self_id();
    if let Some(name) = kind.strip_prefix("ping:") {
        // A neighbour: calls NAME 2000 times and reports its p99 (microseconds).
        let Some(to) = foundation_sdk::whereis(name) else {
            return (0, format!("no {name:?}"));
        };
        let mut took = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let t0 = std::time::Instant::now();
            if let Err(e) = foundation_sdk::call::<_, Reply>(
                to,
                &Call::Echo("ping".into()),
                Duration::from_secs(30),
            ) {
                return (took.len() as u64, format!("{e:?}"));
            }
            took.push(t0.elapsed());
        }
        took.sort();
        let p99 = took[took.len() * 99 / 100];
        return (took.len() as u64, format!("p99 {} us", p99.as_micros()));
    }
    if let Some(name) = kind.strip_prefix("calls:") {
        // Calls NAME with `Defer` (which it holds unanswered), giving up on each
        // after 1 ms, until a call fails otherwise than by its timeout.
        let Some(to) = foundation_sdk::whereis(name) else {
            return (0, format!("no {name:?}"));
        };
        for n in 0..10_000_000u64 {
            match foundation_sdk::call::<_, Reply>(to, &Call::Defer, Duration::from_millis(1)) {
                Err(foundation_sdk::SendError::Timeout) => {}
                Err(e) => return (n, format!("{e:?}")),
                Ok(r) => return (n, format!("answered: {r:?}")),
            }
        }
        return (10_000_000, "no bound".into());
    }
    if kind == "sleep" {
        // Handles nothing more (a victim that never takes its messages).
        std::thread::sleep(Duration::from_secs(3600));
        return (0, "woke".into());
    }
    // `exits:NAME`: exit signals to the actor registered as NAME.
    let exit_to = kind
        .strip_prefix("exits:")
        .map(|name| foundation_sdk::whereis(name).ok_or_else(|| format!("no {name:?}")));
    let mut n = 0u64;
    loop {
        let step = match kind {
            "monitors" => foundation_sdk::monitor(me)
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "timers" => events::send_after(me, Duration::from_secs(3600), &Cast::Record(n))
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            "subscriptions" => {
                events::subscribe(&format!("flood.{n}")).map_err(|e| format!("{e:?}"))
            }
            "groups" => events::join(&format!("flood{n}")).map_err(|e| format!("{e:?}")),
            _ if exit_to.is_some() => match &exit_to {
                Some(Ok(to)) => foundation_sdk::exit(*to, ExitReason::Custom(format!("flood {n}")))
                    .map_err(|e| format!("{e:?}")),
                Some(Err(e)) => Err(e.clone()),
                None => unreachable!(),
            },
            other => Err(format!("unknown flood {other:?}")),
        };
        if let Err(why) = step {
            return (n, why);
        }
        n += 1;
        if n == 10_000_000 {
            return (n, "no bound".into());
        }
    }
}
