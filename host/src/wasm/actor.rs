//! One actor's life: its store, its loop over the mailbox, its exit; and the host side
//! of the `runtime` interface that its guest imports.
//!
//! The exit path is in `Drop for ActorTask`, so it runs however the loop ends (return,
//! trap, or a kill that drops the task): pending and queued calls are answered with
//! `Exited(reason)`, the actor leaves the process table (freeing its name), and its
//! exit reason is published to watchers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, ActorWorld, wit};
use crate::engine::EpochTicker;
use crate::error::{ExitReason, Limit, SendError, chain};
use crate::frame;
use crate::id::ActorId;
use crate::mailbox::{Envelope, MailboxRx, Received, ReplyTx, Signal, SignalTx};
use crate::registry::{self, ActorCell, NameError};
use crate::runtime::{Inner, LoadedComponent, SpawnSpec};
use crate::sandbox::{Authority, Effective, HitCounters, Lineage, Permit, Unit};

/// Messages handed to the guest in one entry, at most.
const MAX_BATCH: usize = 256;

/// The state of one actor's `Store`.
pub(crate) struct ActorData {
    cell: Arc<ActorCell>,
    rt: Arc<Inner>,
    wasi: WasiCtx,
    table: ResourceTable,
    /// Calls delivered to the guest and not yet answered, by reply handle.
    pending: HashMap<u64, ReplyTx>,
    next_handle: u64,
    /// The message the guest's panic hook recorded just before trapping.
    panic: Option<String>,
    /// Monitors this actor holds: monitor ref to the raw target id. A DOWN is
    /// delivered only while its monitor is here (so `demonitor` also flushes).
    monitors: HashMap<u64, u64>,
    /// The actors this one sent to lately (direct-mapped by id), so that a send
    /// rarely takes the process table's lock. Ids are never reused, so a cached cell
    /// is the actor its id named; one that has left the table (`gone`) is not used,
    /// so a send gets `noproc` exactly when a table lookup would.
    recent: [Option<Arc<ActorCell>>; RECENT],
    /// This actor's timers; they die with it.
    timers: HashMap<u64, crate::events::Timer>,
    /// The actor that started this one linked (its supervisor, or a `spawn-link`
    /// caller).
    parent: Option<u64>,
    /// Its resource limits, and the last one it hit.
    limits: Governor,
    /// Its sandbox and lineage, which the actors and tasks it starts share.
    authority: Authority,
    /// Its limits and quotas.
    quotas: Effective,
}

/// An actor's resource limits, enforced by wasmtime through `ResourceLimiter`.
/// A refused growth is logged with the actor, the limit and its value, counted, and
/// kept: if the guest then traps (as an allocation failure does), the exit reason
/// names the limit instead of a bare `unreachable`.
#[derive(Debug)]
struct Governor {
    label: Arc<str>,
    hits: Arc<HitCounters>,
    max_memory: usize,
    max_table_elements: usize,
    /// The longest one guest entry (init, a batch, an info) may run.
    deadline: Option<Duration>,
    /// The tick the current guest entry last ran through, and when the guest saw it
    /// (the clock is read at ticks only, so an entry within one slice reads none).
    last_tick: Option<(u64, Instant)>,
    /// How long the current guest entry has run, counted between its ticks.
    ran: Duration,
    hit: Option<(Limit, String)>,
}

impl Governor {
    /// Called when the guest runs through an epoch tick: yield, or stop a handler past
    /// its deadline. A guest that ran through the tick before this one too, in this
    /// entry, ran a full slice: it tells `ticker` it is busy (one tick alone is an
    /// entry that happened to span it).
    ///
    /// The time between two ticks counts as running time up to one interval: a
    /// guest that waited in a host call (a `call`, I/O) meanwhile sees only one tick
    /// when it resumes, so a wait counts as at most one slice, as a yield does. Time
    /// before the entry's first tick is not counted: the deadline is never early
    /// for a guest that never waits.
    fn on_tick(&mut self, ticker: &EpochTicker) -> wasmtime::Result<UpdateDeadline> {
        let (tick, interval) = ticker.now();
        let now = Instant::now();
        if let Some((last, at)) = self.last_tick {
            self.ran += now.saturating_duration_since(at).min(interval);
            if tick == last + 1 {
                ticker.busy();
            }
        }
        self.last_tick = Some((tick, now));
        if let Some(deadline) = self.deadline
            && self.ran > deadline
        {
            let what = format!("deadline-exceeded: a handler ran longer than {deadline:?}");
            tracing::warn!(actor = %self.label, limit = "deadline", value = ?deadline, "{what}");
            self.hits.deadline.fetch_add(1, Ordering::Relaxed);
            self.hit = Some((Limit::Deadline, what));
            return Err(wasmtime::Error::msg("deadline-exceeded"));
        }
        Ok(UpdateDeadline::Yield(1))
    }
}

impl wasmtime::ResourceLimiter for Governor {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            let what = format!(
                "memory-limit: growing linear memory to {desired} bytes exceeds this actor's limit of {} bytes",
                self.max_memory
            );
            tracing::warn!(actor = %self.label, limit = "memory", value = self.max_memory, "{what}");
            self.hits.memory.fetch_add(1, Ordering::Relaxed);
            self.hit = Some((Limit::Memory, what));
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            let what = format!(
                "table-limit: growing a wasm table to {desired} elements exceeds this actor's limit of {}",
                self.max_table_elements
            );
            tracing::warn!(actor = %self.label, limit = "table-elements", value = self.max_table_elements, "{what}");
            self.hits.table_elements.fetch_add(1, Ordering::Relaxed);
            self.hit = Some((Limit::TableElements, what));
            return Ok(false);
        }
        Ok(true)
    }
}

/// Entries of `ActorData::recent`.
const RECENT: usize = 4;

impl WasiView for ActorData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl ActorData {
    /// The state of a new instance of `cell` in `sandbox`. Fails if a granted
    /// directory cannot be opened.
    fn new(
        cell: Arc<ActorCell>,
        rt: Arc<Inner>,
        authority: Authority,
        quotas: Effective,
    ) -> Result<ActorData, String> {
        let label = cell.label.clone();
        // stdout/stderr go to tracing; no stdin, no arguments; the rest is what the
        // sandbox grants.
        let wasi = authority.sandbox.capabilities.wasi(&label, &rt.hits)?;
        let limits = Governor {
            label,
            hits: rt.hits.clone(),
            max_memory: quotas.max_memory,
            max_table_elements: quotas.max_table_elements,
            deadline: quotas.deadline,
            last_tick: None,
            ran: Duration::ZERO,
            hit: None,
        };
        Ok(ActorData {
            cell,
            rt,
            wasi,
            table: ResourceTable::new(),
            pending: HashMap::new(),
            next_handle: 1,
            panic: None,
            monitors: HashMap::new(),
            recent: Default::default(),
            timers: HashMap::new(),
            parent: None,
            limits,
            authority,
            quotas,
        })
    }

    /// A unit of this actor's `max_children` quota, or the error that refuses it.
    fn child_permit(&self) -> Result<Permit, wit::SpawnError> {
        child_permit(
            &self.rt,
            &self.cell.label,
            &self.authority.lineage,
            &self.quotas,
        )
    }

    /// The spec of an actor this one starts: in its sandbox, on its quota.
    fn child_spec(&self, component: String, args: Vec<u8>) -> Result<SpawnSpec, wit::SpawnError> {
        Ok(SpawnSpec {
            sandbox: Some(self.authority.sandbox.clone()),
            lineage: Some(self.authority.lineage.clone()),
            permit: Some(self.child_permit()?),
            ..SpawnSpec::new(component, args)
        })
    }

    /// The live actor `to` names, through `recent`.
    fn target(&mut self, to: u64) -> Result<Arc<ActorCell>, wit::SendError> {
        let id = ActorId::from_raw(to).ok_or(wit::SendError::Noproc)?;
        let entry = &mut self.recent[(to % RECENT as u64) as usize];
        if let Some(cell) = entry
            .as_ref()
            .filter(|c| c.id == id && !c.gone.load(Ordering::Acquire))
        {
            return Ok(cell.clone());
        }
        let cell = self.rt.registry.get(id).ok_or(wit::SendError::Noproc)?;
        *entry = Some(cell.clone());
        Ok(cell)
    }

    fn add_pending(&mut self, reply: ReplyTx) -> u64 {
        let handle = self.next_handle;
        self.next_handle += 1;
        self.pending.insert(handle, reply);
        handle
    }

    /// Delivers a reply; a caller that gave up (timeout) has dropped its receiver, so
    /// the reply is dropped here and never appears later (OTP G2).
    fn answer(&mut self, handle: u64, payload: &[u8]) -> Result<(), wit::ReplyError> {
        if payload.len() > self.rt.settings.max_message_size {
            return Err(wit::ReplyError::TooLarge);
        }
        let tx = self
            .pending
            .remove(&handle)
            .ok_or(wit::ReplyError::UnknownHandle)?;
        let _ = tx.send(Ok(payload.to_vec()));
        Ok(())
    }
}

/// Owns everything an actor's loop needs; dropping it runs the exit path.
pub(crate) struct ActorTask {
    rt: Arc<Inner>,
    cell: Arc<ActorCell>,
    component: Arc<LoadedComponent>,
    rx: MailboxRx,
    exit_tx: watch::Sender<Option<ExitReason>>,
    /// The actor that started this one with `spawn-link`: unlinked if `init` fails.
    parent: Option<Arc<ActorCell>>,
    store: Option<Store<ActorData>>,
    /// Set when the loop ends by itself; a dropped task without it was killed.
    exit: Option<ExitReason>,
    /// Its sandbox and lineage, and its limits.
    authority: Authority,
    limits: Effective,
}

impl ActorTask {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        rt: Arc<Inner>,
        cell: Arc<ActorCell>,
        component: Arc<LoadedComponent>,
        rx: MailboxRx,
        exit_tx: watch::Sender<Option<ExitReason>>,
        parent: Option<Arc<ActorCell>>,
        authority: Authority,
        limits: Effective,
    ) -> ActorTask {
        ActorTask {
            rt,
            cell,
            component,
            rx,
            exit_tx,
            parent,
            store: None,
            exit: None,
            authority,
            limits,
        }
    }

    /// Instantiates, runs `init` (reporting its outcome on `init_tx`), then handles
    /// the mailbox until the actor stops.
    pub(crate) async fn run(
        mut self,
        args: Vec<u8>,
        init_tx: oneshot::Sender<Result<(), ExitReason>>,
    ) {
        let reason = self.live(args, init_tx).await;
        self.exit = Some(reason);
    }

    /// Runs one supervised task: a fresh instance, no `init`, one call of the
    /// `tasks.run` export. The result goes to `owner` as a `TaskDone` signal for
    /// `monitor`; the task then exits `normal` (its starter's monitor delivers the
    /// DOWN). A trap ends it with the trap's reason and no result. A `Stop` signal
    /// (runtime shutdown) abandons it with reason `shutdown`.
    pub(crate) async fn run_task(
        mut self,
        function: String,
        input: Vec<u8>,
        owner: SignalTx,
        monitor: u64,
    ) {
        let cell = self.cell.clone();
        let signals = self.rx.signal_rx();
        // Only a `Stop` (runtime shutdown) ends a task early.
        let stopped = async {
            loop {
                match signals.recv().await {
                    Some(Signal::Stop(reason)) => return reason,
                    Some(_) => continue,
                    None => std::future::pending().await,
                }
            }
        };
        let reason = tokio::select! {
            biased;
            reason = stopped => reason,
            reason = self.task(&function, &input, &owner, monitor) => reason,
        };
        tracing::debug!(task = %cell.label, "task ended: {reason}");
        self.exit = Some(reason);
    }

    async fn task(
        &mut self,
        function: &str,
        input: &[u8],
        owner: &SignalTx,
        monitor: u64,
    ) -> ExitReason {
        let store = match new_store(&self.rt, &self.cell, &self.authority, self.limits) {
            Ok(store) => self.store.insert(store),
            Err(e) => return ExitReason::Custom(e),
        };
        let instance = match Box::pin(self.component.pre.instantiate_async(&mut *store)).await {
            Ok(i) => i,
            Err(e) => return ExitReason::Custom(format!("cannot instantiate: {}", chain(&e))),
        };
        match instance
            .foundation_actor_tasks()
            .call_run(&mut *store, function, input)
            .await
        {
            Ok(result) => {
                // A result is a message to the starter: the same size limit holds.
                let max = self.rt.settings.max_message_size;
                let result = match result {
                    Ok(bytes) if bytes.len() > max => Err(format!(
                        "the task's result of {} bytes exceeds the maximum message size of {max} bytes",
                        bytes.len()
                    )),
                    other => other,
                };
                let _ = owner.send(Signal::TaskDone { monitor, result });
                ExitReason::Normal
            }
            Err(e) => trapped(&self.cell, store, &e, "task"),
        }
    }

    /// A failed start returns its error to the spawner and must not also kill it
    /// through the link `spawn-link` made (as OTP 26's `proc_lib:init_fail`).
    fn init_failed(&self, init_tx: oneshot::Sender<Result<(), ExitReason>>, reason: &ExitReason) {
        if let Some(parent) = &self.parent {
            registry::unlink(parent, &self.cell);
        }
        let _ = init_tx.send(Err(reason.clone()));
    }

    async fn live(
        &mut self,
        args: Vec<u8>,
        init_tx: oneshot::Sender<Result<(), ExitReason>>,
    ) -> ExitReason {
        let store = match new_store(&self.rt, &self.cell, &self.authority, self.limits) {
            Ok(store) => self.store.insert(store),
            Err(e) => {
                let reason = ExitReason::Custom(e);
                tracing::error!(actor = %self.cell.label, id = %self.cell.id, "{reason}");
                self.init_failed(init_tx, &reason);
                return reason;
            }
        };
        store.data_mut().parent = self.parent.as_ref().map(|p| p.id.get());
        // The futures of the rare guest entries (instantiate, `init`, `handle-info`,
        // `terminate`) are boxed: inline, the largest of them sized this actor's task
        // for its whole life (2.1 KiB, against 1.2 KiB now). `handle`, the hot one,
        // stays inline: boxing it would allocate per batch to save 0.26 KiB.
        let instance = match Box::pin(self.component.pre.instantiate_async(&mut *store)).await {
            Ok(i) => i,
            Err(e) => {
                let reason = ExitReason::Custom(format!("cannot instantiate: {}", chain(&e)));
                tracing::error!(actor = %self.cell.label, id = %self.cell.id, "{reason}");
                self.init_failed(init_tx, &reason);
                return reason;
            }
        };
        let guest = instance.foundation_actor_actor();
        entering(store);
        match Box::pin(guest.call_init(&mut *store, &args)).await {
            Ok(Ok(())) => {
                let _ = init_tx.send(Ok(()));
            }
            Ok(Err(msg)) => {
                let reason = ExitReason::Custom(msg);
                tracing::warn!(actor = %self.cell.label, id = %self.cell.id, "init failed: {reason}");
                self.init_failed(init_tx, &reason);
                return reason;
            }
            Err(e) => {
                let reason = trapped(&self.cell, store, &e, "init");
                self.init_failed(init_tx, &reason);
                return reason;
            }
        }

        // Grown on demand: most actors are idle most of the time, and a buffer for a
        // full batch (12 KiB) per idle actor would dominate its memory.
        let mut envelopes: Vec<Envelope> = Vec::new();
        let mut batch: Vec<u8> = Vec::new();
        loop {
            // A stop the guest or a signal asks for; its `terminate` runs below.
            let stop = match self.rx.recv(&mut envelopes, MAX_BATCH).await {
                Received::Signal(signal) => match on_signal(&self.cell, store.data_mut(), signal) {
                    SignalAction::Ignore => None,
                    SignalAction::Terminate(reason) => Some(reason),
                    SignalAction::Die(reason) => return reason,
                    SignalAction::Deliver(info) => {
                        entering(store);
                        match Box::pin(guest.call_handle_info(&mut *store, &info)).await {
                            Ok(stop) => stop.map(ExitReason::from),
                            Err(e) => return trapped(&self.cell, store, &e, "handle-info"),
                        }
                    }
                },
                // The cell holds a sender for as long as the actor lives, and only
                // the exit path closes the mailbox: not under a running loop.
                Received::Closed => return ExitReason::Shutdown,
                Received::User => {
                    batch.clear();
                    let data = store.data_mut();
                    for envelope in envelopes.drain(..) {
                        match envelope {
                            Envelope::Cast { from, payload } => {
                                frame::push_cast(&mut batch, from, &payload)
                            }
                            Envelope::Call {
                                from,
                                payload,
                                reply,
                            } => {
                                let handle = data.add_pending(reply);
                                frame::push_call(&mut batch, from, handle, &payload);
                            }
                        }
                    }
                    entering(store);
                    let result = match guest.call_handle(&mut *store, &batch).await {
                        Ok(result) => result,
                        Err(e) => return trapped(&self.cell, store, &e, "handle"),
                    };
                    if let Err(reason) = deliver_replies(store.data_mut(), &result) {
                        return reason;
                    }
                    result.stop.map(ExitReason::from)
                }
            };
            if let Some(reason) = stop {
                let timeout = self.rt.settings.shutdown_timeout;
                return Box::pin(terminate(&self.cell, store, &instance, reason, timeout)).await;
            }
        }
    }
}

/// A store for one instance of `cell` in `sandbox`: it yields at every epoch tick,
/// so a busy guest never holds its thread, and its limits hold.
fn new_store(
    rt: &Arc<Inner>,
    cell: &Arc<ActorCell>,
    authority: &Authority,
    limits: Effective,
) -> Result<Store<ActorData>, String> {
    let data = ActorData::new(cell.clone(), rt.clone(), authority.clone(), limits)?;
    let mut store = Store::new(rt.engine(), data);
    store.limiter(|d| &mut d.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut ctx| {
        let data = ctx.data_mut();
        data.limits.on_tick(&data.rt.ticker)
    });
    Ok(store)
}

/// Starts a guest entry's deadline, and its first time slice: the next yield comes at
/// the next tick, not at the entry's first check. (The epoch moved on while the actor
/// waited for messages; a deadline left where the last entry set it would make every
/// entry after a pause yield at its first check, a wasted reschedule per message when
/// messages hop across many actors.)
fn entering(store: &mut Store<ActorData>) {
    store.set_epoch_deadline(1);
    let limits = &mut store.data_mut().limits;
    limits.last_tick = None;
    limits.ran = Duration::ZERO;
    // A refusal the guest survived in an earlier entry explains nothing now.
    limits.hit = None;
}

/// What a system signal asks of the actor's loop.
enum SignalAction {
    Ignore,
    /// Run `terminate`, then exit with the reason.
    Terminate(ExitReason),
    /// Exit with the reason at once, without `terminate`.
    Die(ExitReason),
    /// Hand it to the guest's `handle-info`.
    Deliver(wit::Info),
}

fn on_signal(cell: &ActorCell, data: &mut ActorData, signal: Signal) -> SignalAction {
    match signal {
        Signal::Stop(reason) => SignalAction::Terminate(reason),
        // A DOWN of a monitor removed since is flushed (demonitor always flushes).
        Signal::Down(down) => match data.monitors.remove(&down.monitor) {
            None => SignalAction::Ignore,
            Some(_) => SignalAction::Deliver(wit::Info::Down(wit::Down {
                monitor: down.monitor,
                actor: down.actor,
                reason: down.reason.into(),
            })),
        },
        // A result of a task whose monitor was removed (shutdown-task) is dropped.
        Signal::TaskDone { monitor, result } => {
            if data.monitors.contains_key(&monitor) {
                SignalAction::Deliver(wit::Info::TaskDone(wit::TaskResult { monitor, result }))
            } else {
                SignalAction::Ignore
            }
        }
        Signal::TableTransfer { table, from, data } => {
            SignalAction::Deliver(wit::Info::TableTransfer(wit::TableTransfer {
                table,
                from,
                data,
            }))
        }
        // Queued while the actor trapped exits; if it has stopped trapping since, the
        // signal acts as it would have on arrival.
        Signal::Exit { from, reason } => {
            if cell.trap_exit.load(Ordering::SeqCst) {
                SignalAction::Deliver(wit::Info::Exit(wit::ExitSignal {
                    from: from.get(),
                    reason: reason.into(),
                }))
            } else if reason == ExitReason::Normal {
                SignalAction::Ignore
            } else {
                SignalAction::Die(reason)
            }
        }
    }
}

fn deliver_replies(data: &mut ActorData, result: &bindings::BatchResult) -> Result<(), ExitReason> {
    for reply in frame::replies(&result.replies) {
        let (handle, payload) =
            reply.map_err(|e| ExitReason::Trap(format!("malformed batch result: {e}")))?;
        match data.answer(handle, payload) {
            Ok(()) => {}
            Err(wit::ReplyError::TooLarge) => {
                let max = data.rt.settings.max_message_size;
                tracing::warn!(actor = %data.cell.label, size = payload.len(), max, "reply too large; the caller gets an error");
                if let Some(tx) = data.pending.remove(&handle) {
                    let _ = tx.send(Err(SendError::TooLarge {
                        size: payload.len(),
                        max,
                    }));
                }
            }
            Err(wit::ReplyError::UnknownHandle) => {
                return Err(ExitReason::Trap(format!(
                    "malformed batch result: reply to unknown handle {handle}"
                )));
            }
        }
    }
    Ok(())
}

/// Runs `terminate` within `deadline`. A trap in it becomes the exit reason, as a
/// crash in OTP's `terminate/2` does; overrunning the deadline counts as a kill.
async fn terminate(
    cell: &ActorCell,
    store: &mut Store<ActorData>,
    instance: &ActorWorld,
    reason: ExitReason,
    deadline: Duration,
) -> ExitReason {
    let wit_reason = wit::ExitReason::from(reason.clone());
    // `terminate` is bounded by the shutdown timeout, not the handler deadline.
    entering(store);
    store.data_mut().limits.deadline = None;
    let call = instance
        .foundation_actor_actor()
        .call_terminate(&mut *store, &wit_reason);
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok(())) => reason,
        Ok(Err(e)) => trapped(cell, store, &e, "terminate"),
        Err(_) => {
            tracing::warn!(actor = %cell.label, id = %cell.id, "terminate overran its {deadline:?} deadline; instance dropped");
            ExitReason::Killed
        }
    }
}

/// Turns a trap into an exit reason and logs it with the wasm backtrace.
fn trapped(
    cell: &ActorCell,
    store: &mut Store<ActorData>,
    e: &wasmtime::Error,
    during: &str,
) -> ExitReason {
    let data = store.data_mut();
    // A limit hit in this entry explains the trap that follows it (an allocation
    // failure aborts without a panic message).
    let limit = data.limits.hit.take();
    let panic = data.panic.take();
    let (message, reason) = match (limit, panic) {
        (Some((limit, what)), _) => (what.clone(), ExitReason::Limit(limit, what)),
        (None, Some(panic)) => (panic.clone(), ExitReason::Trap(panic)),
        (None, None) => {
            let m = match e.downcast_ref::<wasmtime::Trap>() {
                Some(trap) => trap.to_string(),
                None => e.root_cause().to_string(),
            };
            (m.clone(), ExitReason::Trap(m))
        }
    };
    // The wasm backtrace (function names from the component's name section), not the
    // host's native one.
    match e.downcast_ref::<wasmtime::WasmBacktrace>() {
        Some(backtrace) => {
            tracing::error!(actor = %cell.label, id = %cell.id, "trapped in {during}: {message}\n{backtrace}")
        }
        None => {
            tracing::error!(actor = %cell.label, id = %cell.id, "trapped in {during}: {message} ({})", chain(e))
        }
    }
    reason
}

impl Drop for ActorTask {
    fn drop(&mut self) {
        // A task dropped without an exit of its own was killed from outside. Leave
        // the table and tell monitors and links...
        // Leave every group and subscription before anyone learns of the exit, so
        // nothing is dispatched to this actor after its DOWN...
        self.rt.events.remove_actor(self.cell.id.get());
        if let Some(store) = self.store.as_mut() {
            for (_, timer) in store.data_mut().timers.drain() {
                timer.kill();
            }
        }
        // ...hand its tables to their heirs (who thus hold them before they learn
        // of the exit) or delete them...
        self.rt
            .tables
            .owner_exited(self.cell.id.get(), &self.rt.registry);
        let reason = self.cell.begin_exit(&self.rt.registry, self.exit.take());
        if let Some(store) = self.store.as_mut() {
            let data = store.data_mut();
            // ...drop the monitors this actor held on others...
            for (monitor, target) in data.monitors.drain() {
                if let Some(target) = ActorId::from_raw(target) {
                    self.rt.demonitor(target, monitor);
                }
            }
            // ...and answer every call this actor accepted and will never answer.
            for (_, tx) in data.pending.drain() {
                let _ = tx.send(Err(SendError::Exited(reason.clone())));
            }
        }
        self.rx.close_and_drain(&reason);
        if reason.is_normal() {
            tracing::debug!(actor = %self.cell.label, id = %self.cell.id, "exited: {reason}");
        } else {
            tracing::info!(actor = %self.cell.label, id = %self.cell.id, "exited: {reason}");
        }
        self.exit_tx.send_replace(Some(reason));
    }
}

/// A unit of `max_children` from `lineage` for an actor labelled `label` with these
/// quotas, or the error that refuses it.
pub(crate) fn child_permit(
    rt: &Inner,
    label: &str,
    lineage: &Arc<Lineage>,
    quotas: &Effective,
) -> Result<Permit, wit::SpawnError> {
    lineage
        .acquire(Unit::Child, quotas.max_children)
        .ok_or_else(|| {
            quota_refused(
                &rt.hits.children,
                label,
                "max_children",
                quotas.max_children,
                "children",
            )
        })
}

/// Logs and counts a refused start; the error names the quota and its value.
fn quota_refused(
    counter: &std::sync::atomic::AtomicU64,
    actor: &str,
    quota: &str,
    value: usize,
    what: &str,
) -> wit::SpawnError {
    counter.fetch_add(1, Ordering::Relaxed);
    let why = format!(
        "{quota}: the limit of {value} live {what} is reached (counting everything started from the same root actor)"
    );
    tracing::warn!(actor, limit = quota, value, "{why}");
    wit::SpawnError::QuotaExceeded(why)
}

fn name_error(e: NameError) -> wit::NameError {
    match e {
        NameError::AlreadyRegistered => wit::NameError::AlreadyRegistered,
        NameError::AlreadyNamed => wit::NameError::AlreadyNamed,
        NameError::NotRegistered => wit::NameError::NotRegistered,
        NameError::Invalid => wit::NameError::InvalidName,
    }
}

impl bindings::foundation::actor::types::Host for ActorData {}

impl bindings::foundation::actor::runtime::Host for ActorData {
    async fn self_id(&mut self) -> u64 {
        self.cell.id.get()
    }

    async fn parent(&mut self) -> Option<u64> {
        self.parent
    }

    async fn cast(&mut self, to: u64, msg: Vec<u8>) -> Result<(), wit::SendError> {
        let target = self.target(to)?;
        self.rt
            .cast(self.cell.id.get(), &target, msg)
            .await
            .map_err(Into::into)
    }

    async fn call(
        &mut self,
        to: u64,
        msg: Vec<u8>,
        timeout_ms: u32,
    ) -> Result<Vec<u8>, wit::SendError> {
        let target = self.target(to)?;
        self.rt
            .call(
                self.cell.id.get(),
                &target,
                msg,
                Duration::from_millis(timeout_ms.into()),
            )
            .await
            .map_err(Into::into)
    }

    async fn reply(&mut self, handle: u64, msg: Vec<u8>) -> Result<(), wit::ReplyError> {
        self.answer(handle, &msg)
    }

    async fn spawn(&mut self, component: String, args: Vec<u8>) -> Result<u64, wit::SpawnError> {
        let spec = self.child_spec(component, args)?;
        match self.rt.spawn(spec).await {
            Ok(cell) => Ok(cell.id.get()),
            Err(e) => Err(e.into()),
        }
    }

    async fn spawn_link(
        &mut self,
        component: String,
        args: Vec<u8>,
    ) -> Result<u64, wit::SpawnError> {
        let spec = SpawnSpec {
            link: Some(self.cell.clone()),
            ..self.child_spec(component, args)?
        };
        match self.rt.spawn(spec).await {
            Ok(cell) => Ok(cell.id.get()),
            Err(e) => Err(e.into()),
        }
    }

    async fn link(&mut self, target: u64) -> Result<(), wit::SendError> {
        let target = ActorId::from_raw(target)
            .and_then(|id| self.rt.registry.get(id))
            .ok_or(wit::SendError::Noproc)?;
        registry::link(&self.cell, &target).map_err(|_| wit::SendError::Noproc)
    }

    async fn unlink(&mut self, target: u64) {
        if let Some(target) = ActorId::from_raw(target).and_then(|id| self.rt.registry.get(id)) {
            registry::unlink(&self.cell, &target);
        }
    }

    async fn exit(&mut self, target: u64, reason: wit::ExitReason) {
        let reason = ExitReason::from(reason);
        if let Some(target) = ActorId::from_raw(target).and_then(|id| self.rt.registry.get(id)) {
            let untrappable = reason == ExitReason::Killed;
            target.exit_signal(self.cell.id, reason, untrappable);
        }
    }

    async fn trap_exits(&mut self, enabled: bool) -> bool {
        self.cell.trap_exit.swap(enabled, Ordering::SeqCst)
    }

    async fn register(&mut self, name: String) -> Result<(), wit::NameError> {
        self.rt
            .registry
            .register(&self.cell, &name)
            .map_err(name_error)
    }

    async fn unregister(&mut self, name: String) -> Result<(), wit::NameError> {
        self.rt
            .registry
            .unregister(&self.cell, &name)
            .map_err(name_error)
    }

    async fn whereis(&mut self, name: String) -> Option<u64> {
        self.rt.registry.whereis(&name).map(|c| c.id.get())
    }

    async fn monitor(&mut self, target: u64) -> u64 {
        let monitor = self.rt.monitor(&self.cell.mailbox.signals, target);
        self.monitors.insert(monitor, target);
        monitor
    }

    async fn demonitor(&mut self, monitor: u64) -> bool {
        match self.monitors.remove(&monitor) {
            Some(target) => {
                if let Some(target) = ActorId::from_raw(target) {
                    self.rt.demonitor(target, monitor);
                }
                true
            }
            None => false,
        }
    }

    async fn start_task(
        &mut self,
        component: String,
        function: String,
        input: Vec<u8>,
    ) -> Result<wit::Task, wit::SpawnError> {
        let permit = self
            .authority
            .lineage
            .acquire(Unit::Task, self.quotas.max_tasks)
            .ok_or_else(|| {
                quota_refused(
                    &self.rt.hits.tasks,
                    &self.cell.label,
                    "max_tasks",
                    self.quotas.max_tasks,
                    "tasks",
                )
            })?;
        let (id, monitor) = self
            .rt
            .start_task(
                &self.cell,
                &component,
                function,
                input,
                self.authority.clone(),
                permit,
            )
            .map_err(wit::SpawnError::from)?;
        self.monitors.insert(monitor, id.get());
        Ok(wit::Task {
            id: id.get(),
            monitor,
        })
    }

    async fn start_supervisor(&mut self, spec: Vec<u8>) -> Result<u64, wit::SpawnError> {
        let wire: crate::supervisor::SupervisorWire = crate::codec::decode(&spec)
            .map_err(|e| wit::SpawnError::Unavailable(format!("not a supervisor spec: {e}")))?;
        let name = wire.name.clone();
        let mut spec = wire.into_spec().map_err(wit::SpawnError::Unavailable)?;
        // Its actor children, now and added later, run in this actor's sandbox and
        // join its lineage, each on its quota.
        spec.sandbox = Some(self.authority.sandbox.clone());
        let permit = self.child_permit()?;
        let cell = crate::supervisor::start(
            &self.rt,
            spec,
            name,
            Some(self.cell.clone()),
            None,
            Some(self.authority.lineage.clone()),
        )
        .await?;
        cell.permit.hold(permit);
        Ok(cell.id.get())
    }

    async fn shutdown_task(&mut self, task: wit::Task) -> bool {
        if self.monitors.remove(&task.monitor).is_none() {
            return false;
        }
        let Some(cell) = ActorId::from_raw(task.id).and_then(|id| self.rt.registry.get(id)) else {
            return false;
        };
        cell.remove_monitor(task.monitor);
        cell.kill_with(ExitReason::Killed);
        true
    }

    async fn log(&mut self, level: wit::Level, msg: String) {
        let actor = &*self.cell.label;
        let id = self.cell.id;
        match level {
            wit::Level::Trace => tracing::trace!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Debug => tracing::debug!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Info => tracing::info!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Warn => tracing::warn!(target: "foundation::guest", actor, %id, "{msg}"),
            wit::Level::Error => tracing::error!(target: "foundation::guest", actor, %id, "{msg}"),
        }
    }

    async fn record_panic(&mut self, mut message: String) -> wasmtime::Result<()> {
        // The message becomes an exit reason that travels to callers and watchers;
        // keep it to a sane size whatever the guest wrote.
        const MAX_PANIC_MESSAGE: usize = 4096;
        if message.len() > MAX_PANIC_MESSAGE {
            let mut cut = MAX_PANIC_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        self.panic = Some(message);
        // Every panic in a wasm32 guest aborts; end it here, before the abort's
        // trap. `trapped` reports the recorded message.
        Err(wasmtime::Error::msg("the guest panicked"))
    }
}

use crate::tables::{TableAccess, TableError, TableHandle, TableKind, TableOptions};
use bindings::foundation::actor::tables as wt;
use wasmtime::component::Resource;

impl From<TableError> for wt::TableError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::NoTable => wt::TableError::NoTable,
            TableError::UnknownName(n) => wt::TableError::UnknownName(n),
            TableError::NameTaken(n) => wt::TableError::NameTaken(n),
            TableError::AccessDenied(m) => wt::TableError::AccessDenied(m),
            TableError::QuotaExceeded(m) => wt::TableError::QuotaExceeded(m),
            TableError::TooLarge(n) => wt::TableError::TooLarge(n),
            TableError::NoKey => wt::TableError::NoKey,
            TableError::NotACounter => wt::TableError::NotACounter,
            TableError::Unordered => wt::TableError::Unordered,
            TableError::Noproc => wt::TableError::Noproc,
            TableError::Invalid(m) => wt::TableError::Invalid(m),
        }
    }
}

fn page(p: crate::tables::Page) -> wt::Page {
    wt::Page {
        entries: p
            .0
            .into_iter()
            .map(|(key, value)| wt::Entry { key, value })
            .collect(),
        next: p.1,
    }
}

impl ActorData {
    fn handle(
        &mut self,
        table: &Resource<TableHandle>,
    ) -> Result<Arc<crate::tables::Table>, wt::TableError> {
        self.table
            .get(table)
            .map(|h| h.0.clone())
            .map_err(|_| wt::TableError::Invalid("unknown table handle".into()))
    }

    fn open(
        &mut self,
        table: Arc<crate::tables::Table>,
    ) -> Result<Resource<TableHandle>, wt::TableError> {
        self.table
            .push(TableHandle(table))
            .map_err(|e| wt::TableError::Invalid(format!("cannot hold another table handle: {e}")))
    }

    fn me(&self) -> u64 {
        self.cell.id.get()
    }
}

impl wt::Host for ActorData {}

impl wt::HostTable for ActorData {
    async fn create(
        &mut self,
        options: wt::TableOptions,
    ) -> Result<Resource<TableHandle>, wt::TableError> {
        let heir = match options.heir {
            Some((id, data)) => Some((ActorId::from_raw(id).ok_or(wt::TableError::Noproc)?, data)),
            None => None,
        };
        let options = TableOptions {
            name: options.name,
            kind: match options.kind {
                wt::TableKind::Set => TableKind::Set,
                wt::TableKind::OrderedSet => TableKind::OrderedSet,
                wt::TableKind::Bag => TableKind::Bag,
                wt::TableKind::DuplicateBag => TableKind::DuplicateBag,
            },
            access: match options.access {
                wt::TableAccess::Protected => TableAccess::Protected,
                wt::TableAccess::Private => TableAccess::Private,
                wt::TableAccess::Public => TableAccess::Public,
            },
            heir,
            max_entries: options.max_entries,
            max_bytes: options.max_bytes,
        };
        // Only this actor creates tables it owns, so the count cannot race.
        let max = self.quotas.max_tables;
        if self.rt.tables.owned_count(self.me()) >= max {
            self.rt.hits.tables.fetch_add(1, Ordering::Relaxed);
            let why = format!("max_tables: this actor already owns {max} tables, its limit");
            tracing::warn!(actor = %self.cell.label, limit = "max_tables", value = max, "{why}");
            return Err(wt::TableError::QuotaExceeded(why));
        }
        let table = self.rt.tables.create(
            self.me(),
            options,
            self.rt.settings.max_message_size,
            &self.rt.registry,
        )?;
        self.open(table)
    }

    async fn open(&mut self, name: String) -> Result<Resource<TableHandle>, wt::TableError> {
        let table = self.rt.tables.by_name(&name)?;
        ActorData::open(self, table)
    }

    async fn open_id(&mut self, id: u64) -> Result<Resource<TableHandle>, wt::TableError> {
        let table = self.rt.tables.by_id(id)?;
        ActorData::open(self, table)
    }

    async fn id(&mut self, table: Resource<TableHandle>) -> u64 {
        self.handle(&table).map_or(0, |t| t.id)
    }

    async fn insert(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), wt::TableError> {
        Ok(self.handle(&table)?.insert(self.me(), &key, &value)?)
    }

    async fn insert_new(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        Ok(self.handle(&table)?.insert_new(self.me(), &key, &value)?)
    }

    async fn lookup(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, wt::TableError> {
        Ok(self.handle(&table)?.lookup(self.me(), &key)?)
    }

    async fn get_many(
        &mut self,
        table: Resource<TableHandle>,
        keys: Vec<u8>,
    ) -> Result<Vec<u8>, wt::TableError> {
        let max = self.rt.settings.max_message_size;
        Ok(self.handle(&table)?.get_many(self.me(), &keys, max)?)
    }

    async fn insert_many(
        &mut self,
        table: Resource<TableHandle>,
        entries: Vec<u8>,
    ) -> Result<u64, wt::TableError> {
        Ok(self.handle(&table)?.insert_many(self.me(), &entries)?)
    }

    async fn lookup_many(
        &mut self,
        table: Resource<TableHandle>,
        keys: Vec<Vec<u8>>,
    ) -> Result<Vec<Vec<Vec<u8>>>, wt::TableError> {
        let t = self.handle(&table)?;
        let me = self.me();
        keys.iter()
            .map(|k| t.lookup(me, k).map_err(Into::into))
            .collect()
    }

    async fn get(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<Option<Vec<u8>>, wt::TableError> {
        Ok(self.handle(&table)?.get(self.me(), &key)?)
    }

    async fn member(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        Ok(self.handle(&table)?.member(self.me(), &key)?)
    }

    async fn delete(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        Ok(self.handle(&table)?.delete(self.me(), &key)?)
    }

    async fn delete_object(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<bool, wt::TableError> {
        Ok(self
            .handle(&table)?
            .delete_object(self.me(), &key, &value)?)
    }

    async fn take(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
    ) -> Result<Vec<Vec<u8>>, wt::TableError> {
        Ok(self.handle(&table)?.take(self.me(), &key)?)
    }

    async fn update_counter(
        &mut self,
        table: Resource<TableHandle>,
        key: Vec<u8>,
        incr: i64,
        default: Option<i64>,
    ) -> Result<i64, wt::TableError> {
        Ok(self
            .handle(&table)?
            .update_counter(self.me(), &key, incr, default)?)
    }

    async fn size(&mut self, table: Resource<TableHandle>) -> Result<u64, wt::TableError> {
        Ok(self.handle(&table)?.size(self.me())?)
    }

    async fn range(
        &mut self,
        table: Resource<TableHandle>,
        from: Option<Vec<u8>>,
        to: Option<Vec<u8>>,
        limit: u32,
    ) -> Result<wt::Page, wt::TableError> {
        let t = self.handle(&table)?;
        Ok(page(t.range(
            self.me(),
            from.as_deref(),
            to.as_deref(),
            limit,
        )?))
    }

    async fn prefix(
        &mut self,
        table: Resource<TableHandle>,
        prefix: Vec<u8>,
        from: Option<Vec<u8>>,
        limit: u32,
    ) -> Result<wt::Page, wt::TableError> {
        let t = self.handle(&table)?;
        Ok(page(t.prefix(
            self.me(),
            &prefix,
            from.as_deref(),
            limit,
        )?))
    }

    async fn set_heir(
        &mut self,
        table: Resource<TableHandle>,
        heir: Option<(u64, Vec<u8>)>,
    ) -> Result<(), wt::TableError> {
        let t = self.handle(&table)?;
        Ok(self
            .rt
            .tables
            .set_heir(self.me(), &t, heir, &self.rt.registry)?)
    }

    async fn give_away(
        &mut self,
        table: Resource<TableHandle>,
        to: u64,
        data: Vec<u8>,
    ) -> Result<(), wt::TableError> {
        let t = self.handle(&table)?;
        Ok(self
            .rt
            .tables
            .give_away(self.me(), &t, to, data, &self.rt.registry)?)
    }

    async fn delete_table(&mut self, table: Resource<TableHandle>) -> Result<(), wt::TableError> {
        let t = self.handle(&table)?;
        Ok(self.rt.tables.delete_table(self.me(), &t)?)
    }

    async fn drop(&mut self, table: Resource<TableHandle>) -> wasmtime::Result<()> {
        self.table.delete(table)?;
        Ok(())
    }
}

use crate::events::{EventError, Timer};
use bindings::foundation::actor::events as we;

impl From<EventError> for we::EventError {
    fn from(e: EventError) -> Self {
        match e {
            EventError::Invalid(m) => we::EventError::Invalid(m),
            EventError::TooLarge(n) => we::EventError::TooLarge(n),
        }
    }
}

impl From<crate::Fanout> for we::Fanout {
    fn from(f: crate::Fanout) -> Self {
        we::Fanout {
            delivered: f.delivered,
            dead_letters: f.dead_letters,
        }
    }
}

impl ActorData {
    fn check_event_size(&self, msg: &[u8]) -> Result<(), we::EventError> {
        if msg.len() > self.rt.settings.max_message_size {
            return Err(we::EventError::TooLarge(msg.len() as u64));
        }
        Ok(())
    }

    fn start_timer(
        &mut self,
        to: u64,
        delay: Duration,
        period: Option<Duration>,
        msg: Vec<u8>,
    ) -> Result<u64, we::EventError> {
        self.check_event_size(&msg)?;
        if self.timers.len() >= 64 {
            self.timers.retain(|_, t| !t.is_done());
        }
        let id = self.rt.events.next_timer();
        let timer = Timer::start(&self.rt, self.me(), to, delay, period, msg, id);
        self.timers.insert(id, timer);
        Ok(id)
    }

    /// Fans out without holding `self` across the sends (the store state is not
    /// `Sync`).
    fn fan_out(
        &self,
        to: Vec<u64>,
        msg: Vec<u8>,
        what: String,
    ) -> impl Future<Output = we::Fanout> + Send + 'static {
        let (rt, me) = (self.rt.clone(), self.me());
        async move {
            crate::events::fan_out(&rt, me, &to, &msg, &what)
                .await
                .into()
        }
    }
}

impl we::Host for ActorData {
    async fn send_after(
        &mut self,
        to: u64,
        delay_ms: u32,
        msg: Vec<u8>,
    ) -> Result<u64, we::EventError> {
        self.start_timer(to, Duration::from_millis(delay_ms.into()), None, msg)
    }

    async fn send_interval(
        &mut self,
        to: u64,
        period_ms: u32,
        msg: Vec<u8>,
    ) -> Result<u64, we::EventError> {
        if period_ms == 0 {
            return Err(we::EventError::Invalid(
                "an interval's period is at least 1 ms".into(),
            ));
        }
        let period = Duration::from_millis(period_ms.into());
        self.start_timer(to, period, Some(period), msg)
    }

    async fn cancel_timer(&mut self, timer: u64) -> bool {
        self.timers.remove(&timer).is_some_and(Timer::cancel)
    }

    async fn join(&mut self, group: String) -> Result<(), we::EventError> {
        Ok(self.rt.events.join(self.me(), &group)?)
    }

    async fn leave(&mut self, group: String) -> Result<bool, we::EventError> {
        Ok(self.rt.events.leave(self.me(), &group)?)
    }

    async fn members(&mut self, group: String) -> Result<Vec<u64>, we::EventError> {
        Ok(self.rt.events.members(&group)?)
    }

    async fn dispatch(
        &mut self,
        group: String,
        msg: Vec<u8>,
    ) -> Result<we::Fanout, we::EventError> {
        self.check_event_size(&msg)?;
        let to = self.rt.events.members(&group)?;
        Ok(self
            .fan_out(to, msg, format!("dispatch to group {group:?}"))
            .await)
    }

    async fn subscribe(&mut self, pattern: String) -> Result<(), we::EventError> {
        Ok(self.rt.events.subscribe(self.me(), &pattern)?)
    }

    async fn unsubscribe(&mut self, pattern: String) -> Result<bool, we::EventError> {
        Ok(self.rt.events.unsubscribe(self.me(), &pattern)?)
    }

    async fn publish(&mut self, topic: String, msg: Vec<u8>) -> Result<we::Fanout, we::EventError> {
        self.check_event_size(&msg)?;
        let to = self.rt.events.subscribers(&topic)?;
        Ok(self.fan_out(to, msg, format!("publish to {topic:?}")).await)
    }

    async fn broadcast_from(
        &mut self,
        topic: String,
        msg: Vec<u8>,
    ) -> Result<we::Fanout, we::EventError> {
        self.check_event_size(&msg)?;
        let me = self.me();
        let mut to = self.rt.events.subscribers(&topic)?;
        to.retain(|a| *a != me);
        Ok(self
            .fan_out(to, msg, format!("broadcast to {topic:?}"))
            .await)
    }
}
