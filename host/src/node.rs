//! The node: what every part of one runtime shares (the process table and names,
//! tables, groups and subscriptions, settings, limit counters) and the operations
//! every kind of process uses: sending, monitoring, stopping, and the one exit path.
//!
//! The node knows nothing of Wasm. Starting an actor from a component is the job of a
//! [`Spawner`] (the `wasm` module implements it), which the node holds so that
//! supervisors and guests can start actors without depending on the engine.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{oneshot, watch};

use crate::error::{ExitReason, SendError, SpawnError};
use crate::events::{Events, Fanout};
use crate::id::{ActorId, IdGen};
use crate::process::cell::{self, ActorCell, Slot};
use crate::process::mailbox::{Down, Envelope, MailboxRx, ReplyTx, Signal, SignalTx, mailbox};
use crate::process::registry::Registry;
use crate::sandbox::{Authority, Effective, HitCounters, Limits, Lineage, Permit, Sandbox};
use crate::store::Stores;
use crate::tables::owners::Tables;

/// Default mailbox capacity (messages) of an actor that does not set its own.
pub const DEFAULT_MAILBOX_CAPACITY: usize = 1024;
/// The largest mailbox capacity: a manifest asking for more is refused, a larger
/// capacity given in code is lowered to it.
pub const MAX_MAILBOX_CAPACITY: usize = 1 << 24;
/// Default largest message, reply or init argument, in bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 8 * 1024 * 1024;
/// The most live instances a runtime's pool may be sized for (`max_instances`).
pub const MAX_INSTANCES: u32 = 1_000_000;

/// Settings fixed when the runtime is built.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) mailbox_capacity: usize,
    pub(crate) send_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
    pub(crate) max_message_size: usize,
    /// The ceiling of an actor's linear memory (the pool's slot size).
    pub(crate) max_memory: usize,
    /// Default limits of every actor (`None`: the built-in default).
    pub(crate) limits: Limits,
}

/// What to start.
#[derive(Debug)]
pub(crate) struct SpawnSpec {
    pub(crate) component: String,
    pub(crate) args: Vec<u8>,
    pub(crate) name: Option<String>,
    pub(crate) mailbox: Option<usize>,
    /// Link the new actor to this one before its `init` runs (`spawn-link`).
    pub(crate) link: Option<Arc<ActorCell>>,
    /// The supervisor's stable address for this child: pointed at the new instance
    /// before its `init` runs, so messages sent through it during `init` wait in the
    /// new mailbox rather than fail on the old instance.
    pub(crate) slot: Option<Arc<Slot>>,
    /// Tables (with their heir data) that the linking parent, their owner, hands to
    /// the new actor before its `init` runs: a supervisor passing on what the child's
    /// previous instance left it.
    pub(crate) inherit: Vec<(u64, Vec<u8>)>,
    /// Its capabilities and limits (`None`: the runtime's defaults, nothing granted).
    pub(crate) sandbox: Option<Arc<Sandbox>>,
    /// The lineage it joins (`None`: it starts one).
    pub(crate) lineage: Option<Arc<Lineage>>,
    /// The quota unit its starter spent on it, held until it exits.
    pub(crate) permit: Option<Permit>,
}

impl SpawnSpec {
    /// A spec for an unnamed, unlinked actor with the runtime's defaults.
    pub(crate) fn new(component: String, args: Vec<u8>) -> SpawnSpec {
        SpawnSpec {
            component,
            args,
            name: None,
            mailbox: None,
            link: None,
            slot: None,
            inherit: Vec::new(),
            sandbox: None,
            lineage: None,
            permit: None,
        }
    }
}

/// A future that starts an actor.
pub(crate) type Spawning =
    Pin<Box<dyn Future<Output = Result<Arc<ActorCell>, SpawnError>> + Send + 'static>>;

/// Starts actors from components: the one thing the node needs from the engine. The
/// `wasm` module implements it; supervisors and guests reach it through
/// [`Node::spawn`].
pub(crate) trait Spawner: Send + Sync + 'static {
    /// Starts an actor and resolves once its `init` has returned, as OTP's
    /// `start_link` does.
    fn spawn(&self, node: Arc<Node>, spec: SpawnSpec) -> Spawning;

    /// Starts a supervised task for `owner` (see [`TaskSpec`]), monitored by it;
    /// returns the task's id and the monitor's reference.
    fn start_task(
        &self,
        node: &Arc<Node>,
        owner: &ActorCell,
        spec: TaskSpec,
    ) -> Result<(ActorId, u64), SpawnError>;
}

/// A supervised task to start: `function` of `component`'s `tasks` export, in a fresh
/// instance, on its starter's sandbox and quota.
#[derive(Debug)]
pub(crate) struct TaskSpec {
    pub(crate) component: String,
    pub(crate) function: String,
    pub(crate) input: Vec<u8>,
    pub(crate) authority: Authority,
    pub(crate) permit: Permit,
}

/// A new process's cell and the ends its loop owns.
pub(crate) struct NewCell {
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) rx: MailboxRx,
    pub(crate) exit_tx: watch::Sender<Option<ExitReason>>,
}

/// What one process holds that its exit must give back or answer: the monitors it
/// holds on others, and calls it accepted and has not answered. Empty for supervisors
/// and probes.
#[derive(Debug, Default)]
pub(crate) struct Holdings {
    /// Monitor ref to the raw id of its target.
    pub(crate) monitors: HashMap<u64, u64>,
    /// Accepted calls, by reply handle.
    pub(crate) pending: HashMap<u64, ReplyTx>,
}

/// The shared state of one runtime; every process and store points at it.
pub(crate) struct Node {
    pub(crate) registry: Registry,
    /// Host-owned tables (ETS).
    pub(crate) tables: Tables,
    /// Durable key-value stores, opened when the runtime was built.
    pub(crate) stores: Stores,
    /// Process groups, subscriptions, dead letters.
    pub(crate) events: Events,
    pub(crate) ids: IdGen,
    monitor_ids: AtomicU64,
    pub(crate) settings: Settings,
    pub(crate) handle: tokio::runtime::Handle,
    shutting_down: AtomicBool,
    /// How often each limit was hit.
    pub(crate) hits: Arc<HitCounters>,
    /// Messages a receiver could not decode (`messaging.unexpected`).
    pub(crate) unexpected: AtomicU64,
    /// The sandbox of actors started without one: nothing granted.
    pub(crate) default_sandbox: Arc<Sandbox>,
    spawner: Arc<dyn Spawner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("actors", &self.registry.len())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Node {
    pub(crate) fn new(
        settings: Settings,
        handle: tokio::runtime::Handle,
        spawner: Arc<dyn Spawner>,
        stores: Stores,
    ) -> Node {
        Node {
            stores,
            registry: Registry::default(),
            tables: Tables::default(),
            events: Events::default(),
            ids: IdGen::new(),
            monitor_ids: AtomicU64::new(1),
            settings,
            handle,
            shutting_down: AtomicBool::new(false),
            hits: Arc::default(),
            unexpected: AtomicU64::new(0),
            default_sandbox: Arc::default(),
            spawner,
        }
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// From now on, every start is refused.
    pub(crate) fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// The error a start gets once shutdown has begun.
    pub(crate) fn refuse_if_shutting_down(&self) -> Result<(), SpawnError> {
        if self.is_shutting_down() {
            return Err(SpawnError::Unavailable(
                "the runtime is shutting down".into(),
            ));
        }
        Ok(())
    }

    /// Starts an actor (through the engine's [`Spawner`]) and waits for its `init`.
    pub(crate) fn spawn(self: &Arc<Self>, spec: SpawnSpec) -> Spawning {
        self.spawner.spawn(self.clone(), spec)
    }

    /// Starts a supervised task for `owner` (through the engine's [`Spawner`]).
    pub(crate) fn start_task(
        self: &Arc<Self>,
        owner: &ActorCell,
        spec: TaskSpec,
    ) -> Result<(ActorId, u64), SpawnError> {
        self.spawner.start_task(self, owner, spec)
    }

    /// The limits that hold for an actor in `sandbox`.
    pub(crate) fn effective(&self, sandbox: &Sandbox) -> Effective {
        sandbox.limits.effective(
            &self.settings.limits,
            self.settings.max_memory,
            self.settings.max_message_size,
        )
    }

    /// Checks a start's argument (init args, a task's input) against the size limit
    /// of the process it is for, counting a refusal.
    pub(crate) fn check_start_size(&self, len: usize, max: usize) -> Result<(), SpawnError> {
        if len > max {
            self.hits.message_size.fetch_add(1, Ordering::Relaxed);
            return Err(SpawnError::Codec(format!(
                "{len} bytes exceed the maximum message size of {max} bytes"
            )));
        }
        Ok(())
    }

    /// Counts a message refused as too large.
    pub(crate) fn too_large(&self, size: usize, max: usize) -> SendError {
        self.hits.message_size.fetch_add(1, Ordering::Relaxed);
        SendError::TooLarge { size, max }
    }

    /// A fresh monitor reference.
    pub(crate) fn next_monitor(&self) -> u64 {
        self.monitor_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Makes a monitor of `target` whose DOWN goes to `watcher`. A dead or unknown
    /// target gives a DOWN with `Noproc` at once (OTP: monitoring a process that does
    /// not exist delivers an immediate DOWN with reason `noproc`).
    pub(crate) fn monitor(&self, watcher: &SignalTx, target: u64) -> u64 {
        let monitor = self.next_monitor();
        match ActorId::from_raw(target).and_then(|id| self.registry.get(id)) {
            Some(cell) => cell.add_monitor(monitor, watcher),
            None => {
                let _ = watcher.send(Signal::Down(Down {
                    monitor,
                    actor: target,
                    reason: ExitReason::Noproc,
                }));
            }
        }
        monitor
    }

    /// Removes a monitor from its target, if the target still lives.
    pub(crate) fn demonitor(&self, target: ActorId, monitor: u64) {
        if let Some(cell) = self.registry.get(target) {
            cell.remove_monitor(monitor);
        }
    }

    /// Makes the cell of a new process: its mailbox, its exit watch, its place in the
    /// table, its name (before anything runs, so it is visible from the start) and
    /// its link to the parent that starts it. The parent is alive (it is the caller)
    /// and the new process has not started, so the link cannot fail; if the parent is
    /// already on its way out, its exit does not see the link, as `cell::link`
    /// documents.
    pub(crate) fn new_cell(
        &self,
        id: ActorId,
        label: Arc<str>,
        capacity: usize,
        max_message: usize,
        name: Option<&str>,
        parent: Option<&Arc<ActorCell>>,
    ) -> Result<NewCell, SpawnError> {
        let (tx, rx) = mailbox(capacity.clamp(1, MAX_MAILBOX_CAPACITY));
        let (exit_tx, exit_rx) = watch::channel(None);
        let cell = Arc::new(ActorCell::new(id, label, tx, exit_rx, false));
        // Before anything can reach it.
        cell.max_message.store(max_message, Ordering::Relaxed);
        self.registry.insert(cell.clone());
        if let Some(name) = name
            && self.registry.register(&cell, name).is_err()
        {
            self.registry.remove(id);
            return Err(SpawnError::NameTaken(name.to_string()));
        }
        if let Some(parent) = parent {
            let _ = cell::link(parent, &cell);
        }
        Ok(NewCell { cell, rx, exit_tx })
    }

    /// The one exit path of every kind of process (actor, task, supervisor, probe),
    /// in this order (docs/semantics.md, "Exits and traps"):
    ///
    /// 1. it leaves its groups and subscriptions, so nothing is dispatched to it
    ///    after its DOWN;
    /// 2. its tables pass to their heirs (who thus hold them before they learn of
    ///    the exit) or are deleted;
    /// 3. it leaves the process table and its name is freed (new sends get `noproc`)
    ///    and its quota unit is given back;
    /// 4. its links get exit signals and its monitors DOWNs;
    /// 5. the monitors it held are removed, and whoever waits on it is answered:
    ///    calls it accepted and queued calls get `exited(reason)`, and its exit watch
    ///    publishes the reason.
    ///
    /// The reason is `own` (the process's own), else the one its killer recorded,
    /// else `killed`. Returns the reason.
    pub(crate) fn exit(
        &self,
        cell: &ActorCell,
        own: Option<ExitReason>,
        holdings: &mut Holdings,
        rx: &mut MailboxRx,
        exit_tx: &watch::Sender<Option<ExitReason>>,
    ) -> ExitReason {
        let reason = own
            .or_else(|| cell.take_kill_reason())
            .unwrap_or(ExitReason::Killed);
        let id = cell.id.get();
        self.events.remove_actor(id);
        self.tables.owner_exited(id, &self.registry);
        self.registry.remove(cell.id);
        cell.permit.close();
        self.registry.notify_exit(cell, &reason);
        for (monitor, target) in holdings.monitors.drain() {
            if let Some(target) = ActorId::from_raw(target) {
                self.demonitor(target, monitor);
            }
        }
        for (_, tx) in holdings.pending.drain() {
            let _ = tx.send(Err(SendError::Exited(reason.clone())));
        }
        let lost = match cell.keeping_slot() {
            // A child that keeps its mailbox leaves it to its next instance.
            Some(slot) => {
                slot.keep(rx.close_and_take(), reason.clone());
                0
            }
            None => rx.close_and_drain(&reason),
        };
        if lost > 0 {
            self.events
                .dead_letters
                .fetch_add(lost as u64, Ordering::Relaxed);
            if reason.is_normal() {
                tracing::info!(actor = %cell.label, id = %cell.id, lost, "{lost} queued casts died with the actor ({reason}); counted as dead letters");
            } else {
                tracing::warn!(actor = %cell.label, id = %cell.id, lost, "{lost} queued casts died with the actor ({reason}); counted as dead letters");
            }
        }
        exit_tx.send_replace(Some(reason.clone()));
        reason
    }

    /// Whether `to` accepts a message of `len` bytes (its `max_message_size`).
    fn check_size(&self, len: usize, to: &ActorCell) -> Result<(), SendError> {
        let max = to
            .max_message
            .load(Ordering::Relaxed)
            .min(self.settings.max_message_size);
        if len > max {
            return Err(self.too_large(len, max));
        }
        Ok(())
    }

    /// Casts to `to`, waiting for room up to the send timeout.
    pub(crate) async fn cast(
        &self,
        from: u64,
        to: &ActorCell,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        self.check_size(payload.len(), to)?;
        to.mailbox
            .send_within(Envelope::Cast { from, payload }, self.settings.send_timeout)
            .await
    }

    /// Casts to `to` only if its mailbox has room now.
    pub(crate) fn try_cast(
        &self,
        from: u64,
        to: &ActorCell,
        payload: Vec<u8>,
    ) -> Result<(), SendError> {
        self.check_size(payload.len(), to)?;
        to.mailbox.try_send(Envelope::Cast { from, payload })
    }

    /// Sends a call and waits for its reply, `timeout` in all. A reply that comes
    /// after the timeout finds the receiver dropped and is discarded (OTP: a late
    /// reply is never delivered as a stray message).
    pub(crate) async fn call(
        &self,
        from: u64,
        to: &ActorCell,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, SendError> {
        self.check_size(payload.len(), to)?;
        let deadline = tokio::time::Instant::now() + timeout;
        let (reply, rx) = oneshot::channel();
        // Running out of the call's time while waiting for room is still a full
        // mailbox, which says more than "timeout".
        to.mailbox
            .send_until(
                Envelope::Call {
                    from,
                    payload,
                    reply,
                },
                deadline,
            )
            .await?;
        match tokio::time::timeout_at(deadline, rx).await {
            Ok(Ok(result)) => result,
            // The actor's task was dropped (killed) between taking the call from the
            // mailbox and registering it.
            Ok(Err(_)) => Err(SendError::Exited(
                to.exit.borrow().clone().unwrap_or(ExitReason::Killed),
            )),
            Err(_) => Err(SendError::Timeout(timeout)),
        }
    }

    /// Casts `payload` from `from` to each of `to` in turn, with a cast's
    /// back-pressure; counts and logs dead letters. `what` names the group, topic or
    /// timer for the log.
    pub(crate) async fn fan_out(
        &self,
        from: u64,
        to: &[u64],
        payload: &[u8],
        what: &str,
    ) -> Fanout {
        let mut result = Fanout::default();
        for &id in to {
            let sent = match ActorId::from_raw(id).and_then(|id| self.registry.get(id)) {
                Some(cell) => self.cast(from, &cell, payload.to_vec()).await,
                None => Err(SendError::Noproc),
            };
            match sent {
                Ok(()) => result.delivered += 1,
                Err(e) => {
                    result.dead_letters += 1;
                    self.dead_letter(what, id, &e);
                }
            }
        }
        result
    }

    fn dead_letter(&self, what: &str, to: u64, e: &SendError) {
        self.events.dead_letters.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(to = %to, "dead letter: {what} to #{to}: {e}");
    }
}

/// Waits until `cell` has exited and returns why.
pub(crate) async fn wait_exit(cell: &ActorCell) -> ExitReason {
    let mut exit = cell.exit.clone();
    let waited = exit.wait_for(Option::is_some).await.map(|r| r.clone());
    match waited {
        Ok(Some(reason)) => reason,
        // The sender is dropped only after publishing the reason.
        _ => exit.borrow().clone().unwrap_or(ExitReason::Killed),
    }
}

/// Asks a process to stop and waits; past `timeout` it is killed.
pub(crate) async fn stop(cell: &ActorCell, reason: ExitReason, timeout: Duration) -> ExitReason {
    if cell.mailbox.signals.send(Signal::Stop(reason)).is_ok()
        && let Ok(reason) = tokio::time::timeout(timeout, wait_exit(cell)).await
    {
        return reason;
    }
    kill(cell);
    wait_exit(cell).await
}

/// Kills a process: no `terminate`; watchers see `killed`.
pub(crate) fn kill(cell: &ActorCell) {
    cell.kill_with(ExitReason::Killed);
}
