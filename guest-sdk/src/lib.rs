//! Write foundation actors in Rust.
//!
//! An actor is a type implementing [`Actor`], exported with [`export_actor!`] from a
//! `cdylib` crate built with `cargo build --target wasm32-wasip2`. Messages are typed
//! Rust values encoded as MessagePack ([`codec`]), so actors written in other languages,
//! the host's typed API and JSON tools all read the same bytes.
//!
//! ```no_run
//! use foundation_sdk::{Actor, CallResult, Caller, Flow};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Args { start: i64 }
//!
//! #[derive(Deserialize)]
//! enum Cast { Add(i64) }
//!
//! #[derive(Deserialize)]
//! enum Call { Get }
//!
//! struct Counter { n: i64 }
//!
//! impl Actor for Counter {
//!     type Args = Args;
//!     type Call = Call;
//!     type Reply = i64;
//!     type Cast = Cast;
//!
//!     fn init(args: Args) -> Result<Self, String> {
//!         Ok(Counter { n: args.start })
//!     }
//!     fn handle_call(&mut self, msg: Call, _from: Caller) -> CallResult<i64> {
//!         match msg { Call::Get => CallResult::Reply(self.n) }
//!     }
//!     fn handle_cast(&mut self, msg: Cast) -> Flow {
//!         match msg { Cast::Add(k) => self.n += k }
//!         Flow::Continue
//!     }
//! }
//!
//! foundation_sdk::export_actor!(Counter);
//! ```
//!
//! The host delivers messages in batches (one guest entry for many messages); this
//! crate hides the framing: each handler sees one message.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "actor-world",
        // Also the standard interfaces the world includes (`wasi:keyvalue`).
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_actor_world",
        default_bindings_module: "foundation_sdk::bindings",
    });
}

/// The optional `task-runner` export, generated apart so that only components that
/// name task functions in [`export_actor!`] export it.
#[doc(hidden)]
pub mod task_bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "task-runner-world",
        pub_export_macro: true,
        export_macro_name: "__export_task_runner",
        default_bindings_module: "foundation_sdk::task_bindings",
    });
}

pub mod codec;
pub mod events;
pub mod kv;
pub mod supervisor;
pub mod tables;

#[doc(hidden)]
pub mod __private;

use bindings::foundation::actor::logging;
use bindings::foundation::actor::messaging;
use bindings::foundation::actor::processes;
use bindings::foundation::actor::tasks;
use bindings::foundation::actor::types as wit;

/// An actor's address: stable for the life of that actor, never reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ActorId(u64);

impl ActorId {
    /// The raw id, as the WIT interface and logs show it.
    pub fn get(self) -> u64 {
        self.0
    }
    /// An id from its raw value (for example one received in a message). Returns `None`
    /// for 0, which is never an actor's id.
    pub fn from_raw(raw: u64) -> Option<ActorId> {
        (raw != 0).then_some(ActorId(raw))
    }
}

impl fmt::Debug for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why an actor stopped (see `exit-reason` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum ExitReason {
    /// Stopped by its own choice, without error.
    Normal,
    /// Asked to stop (runtime shutdown, or its supervisor).
    Shutdown,
    /// Stopped unconditionally.
    Killed,
    /// Its instance trapped, with the panic or trap message.
    Trap(String),
    /// A reason of its own.
    Custom(String),
    /// There was no such actor.
    Noproc,
    /// A limit of its sandbox stopped it: which one, and a message that gives the
    /// limit's value.
    Limit(Limit, String),
}

/// A sandbox limit that can stop an instance (see `limit` in the WIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Limit {
    /// Linear memory would have grown past `max_memory`.
    Memory,
    /// A wasm table would have grown past `max_table_elements`.
    TableElements,
    /// One handler ran past the actor's `deadline`.
    Deadline,
}

impl From<wit::Limit> for Limit {
    fn from(l: wit::Limit) -> Self {
        match l {
            wit::Limit::Memory => Limit::Memory,
            wit::Limit::TableElements => Limit::TableElements,
            wit::Limit::Deadline => Limit::Deadline,
        }
    }
}

impl From<Limit> for wit::Limit {
    fn from(l: Limit) -> Self {
        match l {
            Limit::Memory => wit::Limit::Memory,
            Limit::TableElements => wit::Limit::TableElements,
            Limit::Deadline => wit::Limit::Deadline,
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitReason::Normal => f.write_str("normal"),
            ExitReason::Shutdown => f.write_str("shutdown"),
            ExitReason::Killed => f.write_str("killed"),
            ExitReason::Trap(m) => write!(f, "trap: {m}"),
            ExitReason::Custom(m) => write!(f, "{m}"),
            ExitReason::Noproc => f.write_str("noproc"),
            ExitReason::Limit(_, m) => write!(f, "{m}"),
        }
    }
}

impl From<wit::ExitReason> for ExitReason {
    fn from(r: wit::ExitReason) -> Self {
        match r {
            wit::ExitReason::Normal => ExitReason::Normal,
            wit::ExitReason::Shutdown => ExitReason::Shutdown,
            wit::ExitReason::Killed => ExitReason::Killed,
            wit::ExitReason::Trap(m) => ExitReason::Trap(m),
            wit::ExitReason::Custom(m) => ExitReason::Custom(m),
            wit::ExitReason::Noproc => ExitReason::Noproc,
            wit::ExitReason::Limit((l, m)) => ExitReason::Limit(l.into(), m),
        }
    }
}

impl From<ExitReason> for wit::ExitReason {
    fn from(r: ExitReason) -> Self {
        match r {
            ExitReason::Normal => wit::ExitReason::Normal,
            ExitReason::Shutdown => wit::ExitReason::Shutdown,
            ExitReason::Killed => wit::ExitReason::Killed,
            ExitReason::Trap(m) => wit::ExitReason::Trap(m),
            ExitReason::Custom(m) => wit::ExitReason::Custom(m),
            ExitReason::Noproc => wit::ExitReason::Noproc,
            ExitReason::Limit(l, m) => wit::ExitReason::Limit((l.into(), m)),
        }
    }
}

/// Why a cast or call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No actor at that address or name.
    Noproc,
    /// The receiver's mailbox stayed full until the deadline.
    MailboxFull,
    /// No reply within the call's timeout.
    Timeout,
    /// The receiver stopped before replying.
    Exited(ExitReason),
    /// The message (of this many bytes) exceeds the runtime's maximum message size.
    TooLarge(u64),
    /// The message or the reply could not be encoded or decoded as the expected type.
    Codec(String),
    /// The receiver could not decode the call as a request it handles (its
    /// decoder's error); it did not handle it and goes on.
    Rejected(String),
    /// A quota is used up: this actor's (`max_monitors`, `max_links`) or, for a
    /// call, the receiver's `max_pending_calls`.
    QuotaExceeded(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Noproc => f.write_str("noproc: no such actor"),
            SendError::MailboxFull => {
                f.write_str("mailbox-full: the receiver's mailbox stayed full")
            }
            SendError::Timeout => f.write_str("timeout: no reply in time"),
            SendError::Exited(r) => write!(f, "the receiver exited: {r}"),
            SendError::TooLarge(n) => write!(f, "message of {n} bytes exceeds the maximum size"),
            SendError::Codec(e) => write!(f, "codec error: {e}"),
            SendError::Rejected(e) => write!(f, "rejected: the receiver cannot decode it: {e}"),
            SendError::QuotaExceeded(e) => write!(f, "quota-exceeded: {e}"),
        }
    }
}

impl std::error::Error for SendError {}

impl From<wit::SendError> for SendError {
    fn from(e: wit::SendError) -> Self {
        match e {
            wit::SendError::Noproc => SendError::Noproc,
            wit::SendError::MailboxFull => SendError::MailboxFull,
            wit::SendError::Timeout => SendError::Timeout,
            wit::SendError::Exited(r) => SendError::Exited(r.into()),
            wit::SendError::TooLarge(n) => SendError::TooLarge(n),
            wit::SendError::Rejected(e) => SendError::Rejected(e),
            wit::SendError::QuotaExceeded(e) => SendError::QuotaExceeded(e),
        }
    }
}

pub use wit::{NameError, ReplyError, SpawnError};

/// Names one monitor (see [`monitor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct MonitorRef(u64);

impl MonitorRef {
    /// The raw value, as the WIT interface shows it.
    pub fn get(self) -> u64 {
        self.0
    }
    /// A monitor ref from its raw value (for example one received in a message).
    pub fn from_raw(raw: u64) -> MonitorRef {
        MonitorRef(raw)
    }
}

/// A system message, handled by [`Actor::handle_info`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Info {
    /// A monitored actor stopped (OTP's `DOWN`).
    Down {
        /// The monitor that fired.
        monitor: MonitorRef,
        /// The actor that stopped.
        actor: ActorId,
        /// Why; [`ExitReason::Noproc`] when it was already gone when monitored.
        reason: ExitReason,
    },
    /// An exit signal (from a linked actor that stopped, or from [`exit`]), delivered
    /// only while this actor traps exits ([`trap_exits`]).
    Exit {
        /// Who it came from.
        from: ActorId,
        /// Its reason.
        reason: ExitReason,
    },
    /// A task this actor started returned ([`start_task`]); a `Down` with reason
    /// `Normal` for the same monitor follows.
    TaskDone {
        /// The task's monitor, as in [`Task::monitor`].
        monitor: MonitorRef,
        /// The task function's encoded result (decode it with [`codec::decode`]), or
        /// its error text.
        result: Result<Vec<u8>, String>,
    },
    /// This actor became the owner of a table: it was the heir of an owner that
    /// stopped, or the owner gave it away. Open it with [`tables::Table::open_id`].
    TableTransfer {
        /// The table's id.
        table: u64,
        /// The previous owner (`None`: the host).
        from: Option<ActorId>,
        /// The heir data, or the data given with `give_away`.
        data: Vec<u8>,
    },
}

/// A supervised task started with [`start_task`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Task {
    /// The task's own address.
    pub id: ActorId,
    /// The monitor this actor holds on it; its `TaskDone` and `Down` carry it.
    pub monitor: MonitorRef,
}

/// Starts `function` of `component`'s task functions (see [`export_actor!`]) with
/// `input`, in a fresh instance of its own, monitored by this actor (Elixir's
/// `Task.Supervisor.async_nolink`). Its result arrives as [`Info::TaskDone`] and then
/// a normal [`Info::Down`]; a crash arrives as a `Down` with the reason, and this
/// actor lives on. Tasks are never restarted.
pub fn start_task<I: Serialize + ?Sized>(
    component: &str,
    function: &str,
    input: &I,
) -> Result<Task, SpawnError> {
    let bytes = codec::encode(input).map_err(|e| {
        SpawnError::InitFailed(wit::ExitReason::Custom(format!("encoding the input: {e}")))
    })?;
    let task = tasks::start_task(component, function, &bytes)?;
    Ok(Task {
        id: ActorId(task.id),
        monitor: MonitorRef(task.monitor),
    })
}

/// Kills a task this actor started; neither its result nor its `Down` arrives
/// afterwards. Returns whether it was still running.
pub fn shutdown_task(task: Task) -> bool {
    tasks::shutdown_task(wit::Task {
        id: task.id.0,
        monitor: task.monitor.0,
    })
}

impl From<wit::Info> for Info {
    fn from(info: wit::Info) -> Self {
        match info {
            wit::Info::Down(d) => Info::Down {
                monitor: MonitorRef(d.monitor),
                actor: ActorId(d.actor),
                reason: d.reason.into(),
            },
            wit::Info::Exit(e) => Info::Exit {
                from: ActorId(e.from),
                reason: e.reason.into(),
            },
            wit::Info::TaskDone(t) => Info::TaskDone {
                monitor: MonitorRef(t.monitor),
                result: t.result,
            },
            wit::Info::TableTransfer(t) => Info::TableTransfer {
                table: t.table,
                from: ActorId::from_raw(t.from),
                data: t.data,
            },
        }
    }
}

/// What a call handler decides.
#[derive(Debug)]
pub enum CallResult<R> {
    /// Reply now.
    Reply(R),
    /// Reply later through the [`ReplyHandle`] taken from the [`Caller`]
    /// (OTP's `{noreply, State}` followed by `gen_server:reply/2`).
    NoReply,
    /// Stop after this message, optionally replying first.
    Stop {
        /// Why the actor stops; `terminate` receives it.
        reason: ExitReason,
        /// A reply to send before stopping.
        reply: Option<R>,
    },
}

/// What a cast handler decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow {
    /// Keep running.
    Continue,
    /// Stop after this message with this reason.
    Stop(ExitReason),
}

/// Who made a call, and the handle to answer it later.
#[derive(Debug)]
pub struct Caller {
    from: Option<ActorId>,
    handle: ReplyHandle,
}

impl Caller {
    /// The calling actor, or `None` when the call came from the host's Rust code.
    pub fn from(&self) -> Option<ActorId> {
        self.from
    }
    /// Takes the handle to reply later; return [`CallResult::NoReply`] from the handler.
    pub fn defer(self) -> ReplyHandle {
        self.handle
    }
}

/// Answers one call, once. Dropping it without replying leaves the caller waiting
/// until its timeout.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ReplyHandle(u64);

impl ReplyHandle {
    /// Sends the reply. A caller that has already given up is not an error.
    pub fn reply<R: Serialize>(self, reply: &R) -> Result<(), ReplyError> {
        let bytes = codec::encode(reply).map_err(|_| ReplyError::TooLarge)?;
        messaging::reply(self.0, &bytes)
    }
}

/// An actor: its state, how it starts and how it handles messages.
///
/// Handlers run one message at a time; nothing else runs in this instance meanwhile.
/// A panic in a handler traps the instance: the actor stops with [`ExitReason::Trap`]
/// carrying the panic message, and callers waiting on it get that reason at once.
pub trait Actor: Sized + 'static {
    /// The init argument (the manifest's `args` table, or the spawner's value).
    type Args: DeserializeOwned;
    /// Requests handled by [`Actor::handle_call`].
    type Call: DeserializeOwned;
    /// Replies to calls.
    type Reply: Serialize;
    /// Messages handled by [`Actor::handle_cast`].
    type Cast: DeserializeOwned;

    /// Builds the state. An error stops the actor before any message, with
    /// `ExitReason::Custom(error)`.
    fn init(args: Self::Args) -> Result<Self, String>;

    /// Handles one call.
    fn handle_call(&mut self, msg: Self::Call, from: Caller) -> CallResult<Self::Reply>;

    /// Handles one cast.
    fn handle_cast(&mut self, msg: Self::Cast) -> Flow;

    /// Handles a system message (a DOWN from a monitor). System messages overtake
    /// queued casts and calls. The default ignores it.
    fn handle_info(&mut self, info: Info) -> Flow {
        let _ = info;
        Flow::Continue
    }

    /// Handles a cast that does not decode as [`Actor::Cast`]: its bytes and its
    /// sender (`None`: the host). The host has logged and counted it already. The
    /// default ignores it, as OTP's `gen_server` logs an unexpected message and
    /// carries on; a call that does not decode never reaches the actor (its caller
    /// gets [`SendError::Rejected`]).
    fn handle_unexpected(&mut self, raw: &[u8], from: Option<ActorId>) -> Flow {
        let _ = (raw, from);
        Flow::Continue
    }

    /// Runs once when the actor is asked to stop, or stops by its own request. Not
    /// after a trap or a kill.
    fn terminate(&mut self, reason: ExitReason) {
        let _ = reason;
    }
}

/// Exports `$ty` (a type implementing [`Actor`]) as this component's actor, and
/// optionally the component's task functions: a function
/// `fn(function: &str, input: &[u8]) -> Result<Vec<u8>, String>` that other actors
/// run with [`start_task`] (decode the input and encode the result with [`codec`]).
/// Only a component given task functions exports `task-runner`; `start_task` on
/// one without fails with `unavailable`.
///
/// ```text
/// foundation_sdk::export_actor!(Counter);
/// foundation_sdk::export_actor!(Crunch, tasks = crunch_tasks);
/// ```
#[macro_export]
macro_rules! export_actor {
    ($ty:ty) => {
        #[doc(hidden)]
        struct __FoundationActorExport;

        impl $crate::bindings::exports::foundation::actor::actor::Guest for __FoundationActorExport {
            fn init(args: ::std::vec::Vec<u8>) -> ::std::result::Result<(), ::std::string::String> {
                $crate::__private::init::<$ty>(args)
            }
            fn handle(
                batch: ::std::vec::Vec<u8>,
            ) -> $crate::bindings::exports::foundation::actor::actor::BatchResult {
                $crate::__private::handle(batch)
            }
            fn handle_info(
                info: $crate::bindings::foundation::actor::types::Info,
            ) -> ::std::option::Option<$crate::bindings::foundation::actor::types::ExitReason> {
                $crate::__private::handle_info(info)
            }
            fn terminate(reason: $crate::bindings::foundation::actor::types::ExitReason) {
                $crate::__private::terminate(reason)
            }
        }

        $crate::bindings::__export_actor_world!(__FoundationActorExport with_types_in $crate::bindings);
    };
    ($ty:ty, tasks = $tasks:path) => {
        $crate::export_actor!($ty);

        impl $crate::task_bindings::exports::foundation::actor::task_runner::Guest
            for __FoundationActorExport
        {
            fn run(
                function: ::std::string::String,
                input: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                $crate::__private::run_task($tasks, &function, &input)
            }
        }

        $crate::task_bindings::__export_task_runner!(__FoundationActorExport with_types_in $crate::task_bindings);
    };
}

/// This actor's own address.
pub fn self_id() -> ActorId {
    ActorId(processes::self_id())
}

/// The actor that started this one linked: its supervisor, or the actor that called
/// [`spawn_link`]. `None` for actors started from Rust, at a manifest's top level,
/// or with [`spawn`]. A child names its supervisor as a table's heir with it.
pub fn parent() -> Option<ActorId> {
    processes::parent().map(ActorId)
}

/// Sends `msg` to `to` without waiting for an answer (see `cast` in the WIT).
pub fn cast<M: Serialize + ?Sized>(to: ActorId, msg: &M) -> Result<(), SendError> {
    codec::with_encoded(msg, |bytes| messaging::cast(to.0, bytes))
        .map_err(SendError::Codec)?
        .map_err(SendError::from)
}

/// Calls `to` and waits at most `timeout` for its reply. While it waits this actor
/// handles nothing else; a call to itself therefore times out.
pub fn call<M: Serialize + ?Sized, R: DeserializeOwned>(
    to: ActorId,
    msg: &M,
    timeout: Duration,
) -> Result<R, SendError> {
    let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
    let reply = codec::with_encoded(msg, |bytes| messaging::call(to.0, bytes, ms))
        .map_err(SendError::Codec)?
        .map_err(SendError::from)?;
    codec::decode(&reply).map_err(|e| SendError::Codec(e.to_string()))
}

/// Starts an actor from the component the host knows as `component`, with `args`
/// for its `init`; returns once `init` has returned.
pub fn spawn<A: Serialize + ?Sized>(component: &str, args: &A) -> Result<ActorId, SpawnError> {
    let bytes = codec::encode(args).map_err(|e| {
        SpawnError::InitFailed(wit::ExitReason::Custom(format!("encoding args: {e}")))
    })?;
    processes::spawn(component, &bytes).map(ActorId)
}

/// Monitors `target`: when it stops, this actor's [`Actor::handle_info`] receives
/// [`Info::Down`] with the reason, once. A dead or unknown target gives a `Down` with
/// [`ExitReason::Noproc`] at once. Fails only with [`SendError::QuotaExceeded`], when
/// this actor holds `max_monitors` monitors.
pub fn monitor(target: ActorId) -> Result<MonitorRef, SendError> {
    processes::monitor(target.0)
        .map(MonitorRef)
        .map_err(SendError::from)
}

/// Removes a monitor; no `Down` for it arrives afterwards, even one already queued.
/// Returns whether it was active.
pub fn demonitor(monitor: MonitorRef) -> bool {
    processes::demonitor(monitor.0)
}

/// Links this actor with `target` both ways: when either stops, the other gets an
/// exit signal (it dies with the same reason unless the reason is `Normal` or it
/// traps exits). Errors: `Noproc` when `target` is dead.
pub fn link(target: ActorId) -> Result<(), SendError> {
    processes::link(target.0).map_err(SendError::from)
}

/// Removes the link with `target`, both ways.
pub fn unlink(target: ActorId) {
    processes::unlink(target.0)
}

/// Like [`spawn`], linked to this actor before its `init` runs. A failed `init`
/// removes the link and returns the error.
pub fn spawn_link<A: Serialize + ?Sized>(component: &str, args: &A) -> Result<ActorId, SpawnError> {
    let bytes = codec::encode(args).map_err(|e| {
        SpawnError::InitFailed(wit::ExitReason::Custom(format!("encoding args: {e}")))
    })?;
    processes::spawn_link(component, &bytes).map(ActorId)
}

/// Sends `target` an exit signal (OTP's `exit/2`). [`ExitReason::Killed`] cannot be
/// trapped; [`ExitReason::Normal`] is ignored by a target that does not trap exits;
/// a dead target is ignored. To a target that traps exits the signal holds a place of
/// its mailbox until handled: a full mailbox makes this wait up to the send timeout,
/// then fail with [`SendError::MailboxFull`], as a cast does.
pub fn exit(target: ActorId, reason: ExitReason) -> Result<(), SendError> {
    processes::exit(target.0, &reason.into()).map_err(SendError::from)
}

/// Sets whether exit signals arrive as [`Info::Exit`] (true) or act on this actor
/// (false, the default); returns the previous setting.
pub fn trap_exits(enabled: bool) -> bool {
    processes::trap_exits(enabled)
}

/// Gives this actor a unique name, freed when it stops.
pub fn register(name: &str) -> Result<(), NameError> {
    processes::register(name)
}

/// Frees this actor's name.
pub fn unregister(name: &str) -> Result<(), NameError> {
    processes::unregister(name)
}

/// The live actor registered as `name`.
pub fn whereis(name: &str) -> Option<ActorId> {
    processes::whereis(name).map(ActorId)
}

/// Logging into the host's `tracing` output, tagged with this actor's name.
pub mod log {
    use super::logging;
    use super::wit::Level;

    /// Logs at error level.
    pub fn error(msg: &str) {
        logging::log(Level::Error, msg)
    }
    /// Logs at warn level.
    pub fn warn(msg: &str) {
        logging::log(Level::Warn, msg)
    }
    /// Logs at info level.
    pub fn info(msg: &str) {
        logging::log(Level::Info, msg)
    }
    /// Logs at debug level.
    pub fn debug(msg: &str) {
        logging::log(Level::Debug, msg)
    }
    /// Logs at trace level.
    pub fn trace(msg: &str) {
        logging::log(Level::Trace, msg)
    }
}

impl Caller {
    pub(crate) fn new(from: Option<ActorId>, handle: u64) -> Caller {
        Caller {
            from,
            handle: ReplyHandle(handle),
        }
    }
}
