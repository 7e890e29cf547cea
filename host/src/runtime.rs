//! The runtime: builder, components, spawning, the typed `ActorRef`, shutdown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{oneshot, watch};
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::actor::{ActorData, ActorTask};
use crate::bindings::ActorWorldPre;
use crate::engine::{self, EngineSettings, EpochTicker};
use crate::error::{ActorError, Error, ExitReason, SendError, SpawnError, chain};
use crate::id::{ActorId, IdGen};
use crate::mailbox::{Envelope, MailboxRx, Signal, mailbox};
use crate::manifest::{Manifest, ManifestError};
use crate::registry::{ActorCell, Registry};
use crate::sandbox::{
    Authority, Effective, HitCounters, LimitHits, Limits, Lineage, Permit, Sandbox,
};
use crate::sched;

/// The shortest time slice `RuntimeBuilder::epoch_interval` accepts.
const MIN_EPOCH_INTERVAL: Duration = Duration::from_micros(100);

/// Default mailbox capacity (messages) of an actor that does not set its own.
pub const DEFAULT_MAILBOX_CAPACITY: usize = 1024;
/// Default time a sender waits for room in a full mailbox.
pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time `terminate` may take at shutdown (OTP's worker default).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// Default largest message, reply or init argument, in bytes.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 8 * 1024 * 1024;

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

/// Configures and builds a [`Runtime`], in the style of wasmtime's `Config`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), foundation::Error> {
/// let runtime = foundation::Runtime::builder()
///     .mailbox_capacity(256)
///     .send_timeout(std::time::Duration::from_secs(1))
///     .cache_dir(None)
///     .build()?;
/// assert_eq!(runtime.actor_count(), 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    settings: Settings,
    engine: EngineSettings,
    cache_dir: Option<PathBuf>,
    epoch_interval: Duration,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            settings: Settings {
                mailbox_capacity: DEFAULT_MAILBOX_CAPACITY,
                send_timeout: DEFAULT_SEND_TIMEOUT,
                shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
                max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                max_memory: 256 * 1024 * 1024,
                limits: Limits::default(),
            },
            engine: EngineSettings {
                pooling: true,
                max_instances: 1000,
                max_memory_bytes: 256 * 1024 * 1024,
            },
            cache_dir: engine::default_cache_dir(),
            epoch_interval: Duration::from_millis(1),
        }
    }
}

impl RuntimeBuilder {
    /// Mailbox capacity for actors that do not set their own (default 1024).
    pub fn mailbox_capacity(&mut self, capacity: usize) -> &mut Self {
        self.settings.mailbox_capacity = capacity.max(1);
        self
    }

    /// How long a sender waits for room in a full mailbox before `MailboxFull`
    /// (default 5 s).
    pub fn send_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.settings.send_timeout = timeout;
        self
    }

    /// How long an actor's `terminate` may run when it is stopped (default 5 s).
    pub fn shutdown_timeout(&mut self, timeout: Duration) -> &mut Self {
        self.settings.shutdown_timeout = timeout;
        self
    }

    /// The largest message, reply or init argument in bytes (default 8 MiB). Larger
    /// ones are refused at the sender with `TooLarge`, never truncated.
    pub fn max_message_size(&mut self, bytes: usize) -> &mut Self {
        self.settings.max_message_size = bytes;
        self
    }

    /// Where compiled components are cached; `None` compiles every time. Default:
    /// `$FOUNDATION_CACHE_DIR`, `$XDG_CACHE_HOME/foundation` or `~/.cache/foundation`.
    pub fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache_dir = dir;
        self
    }

    /// The longest one guest entry (`init`, a batch of messages, a system message)
    /// may run before the actor is stopped with a `deadline-exceeded` trap (default:
    /// none). Running time, checked at epoch ticks: a wait in a host call counts as at
    /// most one time slice; see `docs/semantics.md`, "Handler deadline".
    pub fn handler_deadline(&mut self, deadline: Option<Duration>) -> &mut Self {
        self.settings.limits.deadline = deadline;
        self
    }

    /// Default limits and quotas of every actor; an actor's own (from its manifest
    /// entry or [`ActorOptions::sandbox`]) override them field by field. Replaces
    /// what [`RuntimeBuilder::handler_deadline`] set. See `docs/semantics.md`,
    /// "Limits and quotas", for the built-in defaults.
    pub fn default_limits(&mut self, limits: Limits) -> &mut Self {
        self.settings.limits = limits;
        self
    }

    /// The time slice: how long a busy guest runs before it yields its thread
    /// (default 1 ms). The epoch ticks this often only while some guest is busy,
    /// and every 10 ms (or this interval, if longer) otherwise; see
    /// `docs/semantics.md`, "Busy guests and fairness". At least 100 µs: a shorter
    /// slice would keep the ticker thread spinning while a guest is busy.
    pub fn epoch_interval(&mut self, interval: Duration) -> &mut Self {
        self.epoch_interval = interval.max(MIN_EPOCH_INTERVAL);
        self
    }

    /// Whether instances come from wasmtime's pooling allocator (default: yes, with
    /// copy-on-write memory images).
    pub fn pooling(&mut self, enabled: bool) -> &mut Self {
        self.engine.pooling = enabled;
        self
    }

    /// The most live actors at once with the pooling allocator (default 1000).
    pub fn max_instances(&mut self, n: u32) -> &mut Self {
        self.engine.max_instances = n;
        self
    }

    /// The largest linear memory of one actor, in bytes (default 256 MiB).
    pub fn max_memory_bytes(&mut self, bytes: usize) -> &mut Self {
        self.engine.max_memory_bytes = bytes;
        self
    }

    /// Applies a manifest's `[runtime]` section (the pool's size) and makes its
    /// `[limits]` the default of every actor (its declared actors have them already).
    pub fn manifest(&mut self, manifest: &Manifest) -> &mut Self {
        if let Some(n) = manifest.runtime.max_instances {
            self.max_instances(n);
        }
        // For what the manifest does not declare: children added at run time.
        self.settings.limits = manifest.limits.or(&self.settings.limits);
        self
    }

    /// Builds the runtime. Must be called within a tokio runtime, whose handle the
    /// actors then run on.
    pub fn build(&self) -> Result<Runtime, Error> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Engine("Runtime::build must be called within a tokio runtime".into())
        })?;
        if self.engine.pooling {
            engine::check_map_count(self.engine.max_instances, engine::max_map_count())
                .map_err(Error::Engine)?;
        }
        let engine = engine::build_engine(&self.engine)?;
        let linker = engine::build_linker(&engine)?;
        let ticker = EpochTicker::start(engine.clone(), self.epoch_interval);
        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                linker,
                components: RwLock::new(HashMap::new()),
                registry: Registry::default(),
                tables: crate::tables::Tables::default(),
                events: crate::events::Events::default(),
                ids: IdGen::new(),
                monitor_ids: std::sync::atomic::AtomicU64::new(1),
                settings: Settings {
                    max_memory: self.engine.max_memory_bytes,
                    ..self.settings.clone()
                },
                handle,
                cache_dir: self.cache_dir.clone(),
                shutting_down: AtomicBool::new(false),
                hits: Arc::default(),
                default_sandbox: Arc::default(),
                ticker,
            }),
        })
    }
}

/// A compiled component, checked to implement the actor world, ready to instantiate.
pub(crate) struct LoadedComponent {
    pub(crate) name: String,
    pub(crate) pre: ActorWorldPre<ActorData>,
}

/// A new actor's cell and the ends its task owns.
pub(crate) struct NewCell {
    pub(crate) cell: Arc<ActorCell>,
    pub(crate) rx: MailboxRx,
    pub(crate) exit_tx: watch::Sender<Option<ExitReason>>,
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
    pub(crate) slot: Option<Arc<crate::registry::Slot>>,
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

pub(crate) struct Inner {
    engine: Engine,
    linker: Linker<ActorData>,
    components: RwLock<HashMap<String, Arc<LoadedComponent>>>,
    pub(crate) registry: Registry,
    /// Host-owned tables (ETS).
    pub(crate) tables: crate::tables::Tables,
    /// Process groups, subscriptions, dead letters.
    pub(crate) events: crate::events::Events,
    pub(crate) ids: IdGen,
    monitor_ids: std::sync::atomic::AtomicU64,
    pub(crate) settings: Settings,
    pub(crate) handle: tokio::runtime::Handle,
    cache_dir: Option<PathBuf>,
    shutting_down: AtomicBool,
    /// How often each limit was hit.
    pub(crate) hits: Arc<HitCounters>,
    /// The sandbox of actors started without one: nothing granted.
    pub(crate) default_sandbox: Arc<Sandbox>,
    /// Advances the epoch; guests tell it when they are busy.
    pub(crate) ticker: EpochTicker,
}

impl Inner {
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// The limits that hold for an actor in `sandbox`.
    pub(crate) fn effective(&self, sandbox: &Sandbox) -> Effective {
        sandbox.limits.effective(
            &self.settings.limits,
            self.settings.max_memory,
            self.settings.max_message_size,
        )
    }

    /// Counts a message refused as too large.
    pub(crate) fn too_large(&self, size: usize, max: usize) -> SendError {
        self.hits.message_size.fetch_add(1, Ordering::Relaxed);
        SendError::TooLarge { size, max }
    }

    fn component(&self, name: &str) -> Result<Arc<LoadedComponent>, SpawnError> {
        let components = self.components.read().unwrap();
        components.get(name).cloned().ok_or_else(|| {
            let mut known: Vec<_> = components.keys().cloned().collect();
            known.sort();
            SpawnError::UnknownComponent {
                name: name.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            }
        })
    }

    /// Starts an actor and waits for its `init`, as OTP's `start_link` does.
    pub(crate) async fn spawn(
        self: &Arc<Self>,
        spec: SpawnSpec,
    ) -> Result<Arc<ActorCell>, SpawnError> {
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(SpawnError::Unavailable(
                "the runtime is shutting down".into(),
            ));
        }
        let sandbox = spec
            .sandbox
            .clone()
            .unwrap_or_else(|| self.default_sandbox.clone());
        let limits = self.effective(&sandbox);
        // Init args are a message to the new actor: its own size limit holds.
        if spec.args.len() > limits.max_message_size {
            self.hits.message_size.fetch_add(1, Ordering::Relaxed);
            return Err(SpawnError::Codec(format!(
                "{} bytes exceed the maximum message size of {} bytes",
                spec.args.len(),
                limits.max_message_size
            )));
        }
        let component = self.component(&spec.component)?;
        let id = self.ids.next();
        let label: Arc<str> = match &spec.name {
            Some(name) => name.as_str().into(),
            None => format!("{}{id}", component.name).into(),
        };
        let capacity = spec.mailbox.unwrap_or(self.settings.mailbox_capacity);
        let NewCell { cell, rx, exit_tx } = self.new_cell(
            id,
            label,
            capacity,
            limits.max_message_size,
            spec.name.as_deref(),
            spec.link.as_ref(),
        )?;
        if let Some(permit) = spec.permit {
            cell.permit.hold(permit);
        }
        let authority = Authority {
            sandbox,
            lineage: spec.lineage.clone().unwrap_or_default(),
        };
        let _ = cell.authority.set(authority.clone());
        if let Some(slot) = &spec.slot {
            // Only supervisors pass a slot: the child is theirs to stop.
            cell.supervised.store(true, Ordering::SeqCst);
            slot.set(cell.clone());
            cell.set_slot(slot);
        }
        if let Some(parent) = &spec.link {
            for (table, data) in spec.inherit {
                let handed = self.tables.by_id(table).and_then(|t| {
                    self.tables
                        .give_away(parent.id.get(), &t, cell.id.get(), data, &self.registry)
                });
                if let Err(e) = handed {
                    tracing::warn!(actor = %cell.label, "table #{table} not handed over: {e}");
                }
            }
        }
        let (init_tx, init_rx) = oneshot::channel();
        let task = ActorTask::new(
            self.clone(),
            cell.clone(),
            component,
            rx,
            exit_tx,
            spec.link.clone(),
            authority,
            limits,
        );
        cell.arm_abort(sched::spawn_actor(
            &self.handle,
            task.run(spec.args, init_tx),
        ));
        match init_rx.await {
            Ok(Ok(())) => Ok(cell),
            // Either way the actor is gone; wait until its exit path has run, so the
            // spawner never sees a half-dead actor (its name still taken, say).
            Ok(Err(_)) | Err(_) => Err(SpawnError::InitFailed {
                actor: cell.label.to_string(),
                reason: wait_exit(&cell).await,
            }),
        }
    }

    /// Makes a monitor of `target` whose DOWN goes to `watcher`. A dead or unknown
    /// target gives a DOWN with `Noproc` at once (OTP M1).
    pub(crate) fn monitor(&self, watcher: &crate::mailbox::SignalTx, target: u64) -> u64 {
        let monitor = self.monitor_ids.fetch_add(1, Ordering::Relaxed);
        match ActorId::from_raw(target).and_then(|id| self.registry.get(id)) {
            Some(cell) => cell.add_monitor(monitor, watcher),
            None => {
                let _ = watcher.send(Signal::Down(crate::registry::Down {
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

    /// Starts a supervised task for `owner`: `function` of `component`'s `tasks`
    /// export, in a fresh instance, monitored by `owner`. Returns the task's id and
    /// the monitor ref. Runtime shutdown stops it like a top-level actor (a `Stop`
    /// abandons the task); its owner may kill it with `shutdown-task`.
    pub(crate) fn start_task(
        self: &Arc<Self>,
        owner: &ActorCell,
        component: &str,
        function: String,
        input: Vec<u8>,
        authority: Authority,
        permit: Permit,
    ) -> Result<(ActorId, u64), SpawnError> {
        if self.shutting_down.load(Ordering::Acquire) {
            return Err(SpawnError::Unavailable(
                "the runtime is shutting down".into(),
            ));
        }
        // Tasks are for long work: no handler deadline (docs/semantics.md).
        let limits = Effective {
            deadline: None,
            ..self.effective(&authority.sandbox)
        };
        // The input is a message to the task: the sandbox's size limit holds.
        if input.len() > limits.max_message_size {
            self.hits.message_size.fetch_add(1, Ordering::Relaxed);
            return Err(SpawnError::Codec(format!(
                "{} bytes exceed the maximum message size of {} bytes",
                input.len(),
                limits.max_message_size
            )));
        }
        let component = self.component(component)?;
        let id = self.ids.next();
        let label: Arc<str> = format!("{}.{function}{id}", component.name).into();
        let NewCell { cell, rx, exit_tx } = self.new_cell(id, label, 1, usize::MAX, None, None)?;
        cell.permit.hold(permit);
        let _ = cell.authority.set(authority.clone());
        let monitor = self.monitor_ids.fetch_add(1, Ordering::Relaxed);
        cell.add_monitor(monitor, &owner.mailbox.signals);
        let task = ActorTask::new(
            self.clone(),
            cell.clone(),
            component,
            rx,
            exit_tx,
            None,
            authority,
            limits,
        );
        let owner_signals = owner.mailbox.signals.clone();
        cell.arm_abort(sched::spawn_actor(
            &self.handle,
            task.run_task(function, input, owner_signals, monitor),
        ));
        Ok((id, monitor))
    }

    /// Makes the cell of a new actor or supervisor: its mailbox, its exit watch, its
    /// place in the table, its name (before anything runs, so it is visible from the
    /// start) and its link to the parent that starts it. The parent is alive (it is
    /// the caller) and the new actor has not started, so the link cannot fail; if
    /// the parent is already on its way out, its exit does not see the link, as
    /// `registry::link` documents.
    pub(crate) fn new_cell(
        &self,
        id: ActorId,
        label: Arc<str>,
        capacity: usize,
        max_message: usize,
        name: Option<&str>,
        parent: Option<&Arc<ActorCell>>,
    ) -> Result<NewCell, SpawnError> {
        let (tx, rx) = mailbox(capacity.max(1));
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
            let _ = crate::registry::link(parent, &cell);
        }
        Ok(NewCell { cell, rx, exit_tx })
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

    fn try_cast(&self, from: u64, to: &ActorCell, payload: Vec<u8>) -> Result<(), SendError> {
        self.check_size(payload.len(), to)?;
        to.mailbox.try_send(Envelope::Cast { from, payload })
    }

    /// Sends a call and waits for its reply, `timeout` in all. A reply that comes
    /// after the timeout finds the receiver dropped and is discarded (OTP G2).
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
        to.mailbox
            .send_until(
                Envelope::Call {
                    from,
                    payload,
                    reply,
                },
                deadline,
            )
            .await
            .map_err(|e| match e {
                // The whole call had `timeout`; running out of it while waiting for
                // room is still a full mailbox, which says more than "timeout".
                SendError::MailboxFull { capacity } => SendError::MailboxFull { capacity },
                other => other,
            })?;
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
}

async fn supervisor_request(
    supervisor: &ActorRef,
    request: &crate::supervisor::SupervisorRequest,
) -> Result<crate::supervisor::SupervisorReply, SpawnError> {
    supervisor
        .call(request, Duration::from_secs(60))
        .await
        .map_err(|e| SpawnError::Unavailable(format!("supervisor {}: {e}", supervisor.label())))
}

/// The supervisor spec of manifest supervisor `name`, with its subtree. The manifest
/// was validated: every child exists.
fn supervisor_spec(manifest: &Manifest, name: &str) -> crate::supervisor::SupervisorSpec {
    use crate::supervisor::{ChildSpec, SupervisorSpec};
    let decl = manifest.supervisor(name).expect("validated manifest");
    let children = decl
        .children
        .iter()
        .map(|child| {
            if let Some(actor) = manifest.actor(child) {
                let mut spec =
                    ChildSpec::actor(child, &actor.component, actor.args.clone()).name(child);
                if let crate::supervisor::ChildKind::Actor {
                    mailbox, sandbox, ..
                } = &mut spec.kind
                {
                    *mailbox = actor.mailbox;
                    *sandbox = Some(actor.sandbox.clone());
                }
                spec.restart = actor.restart.unwrap_or(spec.restart);
                spec.shutdown = actor.shutdown.unwrap_or(spec.shutdown);
                spec.significant = actor.significant;
                spec
            } else {
                let sub = manifest.supervisor(child).expect("validated manifest");
                let mut spec =
                    ChildSpec::supervisor(child, supervisor_spec(manifest, child)).name(child);
                spec.restart = sub.restart.unwrap_or(spec.restart);
                spec.shutdown = sub.shutdown.unwrap_or(spec.shutdown);
                spec
            }
        })
        .collect();
    SupervisorSpec {
        strategy: decl.strategy,
        max_restarts: decl.max_restarts,
        max_seconds: decl.max_seconds,
        children,
        max_children: decl.max_children,
        auto_shutdown: decl.auto_shutdown,
        sandbox: None,
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

/// The foundation runtime: components, actors, and the engine they run on.
///
/// Dropping it kills every actor still running; call [`Runtime::shutdown`] first for
/// a graceful stop.
pub struct Runtime {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("actors", &self.inner.registry.len())
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A builder with the default settings.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Compiles (or loads from the cache) the component at `path` and checks that it
    /// implements the actor world; actors can then be spawned from it by `name`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), foundation::Error> {
    /// # let path = foundation_fixtures::COUNTER;
    /// let runtime = foundation::Runtime::builder().build()?;
    /// runtime.add_component("counter", path)?;
    /// // Not a component at all: a precise error, nothing registered.
    /// let err = runtime.add_component_bytes("junk", b"junk").unwrap_err();
    /// assert!(err.to_string().starts_with("component \"junk\" (bytes): not a valid component"));
    /// # Ok(()) }
    /// ```
    pub fn add_component(&self, name: &str, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::ComponentFile {
            name: name.to_string(),
            path: path.to_path_buf(),
            source,
        })?;
        self.add(name, &bytes, &path.display().to_string())
    }

    /// Like [`Runtime::add_component`], from the component's bytes.
    pub fn add_component_bytes(&self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        self.add(name, bytes, "bytes")
    }

    fn add(&self, name: &str, bytes: &[u8], origin: &str) -> Result<(), Error> {
        let invalid = |message: String| Error::InvalidComponent {
            name: name.to_string(),
            origin: origin.to_string(),
            message,
        };
        let component = engine::compile(&self.inner.engine, self.inner.cache_dir.as_deref(), bytes)
            .map_err(|e| invalid(format!("not a valid component: {}", chain(&e))))?;
        let pre = self.inner.linker.instantiate_pre(&component).map_err(|e| {
            invalid(format!(
                "its imports are not what foundation offers: {}",
                chain(&e)
            ))
        })?;
        let pre = ActorWorldPre::new(pre).map_err(|e| {
            invalid(format!(
                "does not implement the foundation:actor/actor-world world: {}",
                chain(&e)
            ))
        })?;
        self.inner.components.write().unwrap().insert(
            name.to_string(),
            Arc::new(LoadedComponent {
                name: name.to_string(),
                pre,
            }),
        );
        Ok(())
    }

    /// Loads every component of a manifest. Errors name the manifest line of the
    /// component's `path`.
    pub fn load_components(&self, manifest: &Manifest) -> Result<(), Error> {
        for decl in &manifest.components {
            self.add_component(&decl.name, &decl.path)
                .map_err(|e| ManifestError {
                    file: manifest.file.clone(),
                    location: Some(decl.location.clone()),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// Loads a manifest's components and starts its actors in order, each registered
    /// under its manifest name. Stops at the first actor that fails to start (those
    /// already started keep running; [`Runtime::shutdown`] stops them).
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let path = foundation_fixtures::COUNTER;
    /// use std::path::Path;
    /// let text = format!(r#"
    ///     [components.counter]
    ///     path = {path:?}
    ///
    ///     [[actors]]
    ///     name = "counter"
    ///     component = "counter"
    ///     args = {{ start = 41 }}
    /// "#);
    /// let manifest = foundation::Manifest::parse(&text, Path::new("app.toml"), Path::new("."))?;
    /// let runtime = foundation::Runtime::builder().build()?;
    /// runtime.start(&manifest).await?;
    /// let counter = runtime.whereis("counter").expect("registered under its manifest name");
    /// let n: i64 = counter.call(&serde_json::json!({ "AddAndGet": 1 }), std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(n, 42);
    /// runtime.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub async fn start(&self, manifest: &Manifest) -> Result<Vec<ActorRef>, Error> {
        self.load_components(manifest)?;
        let mut started = Vec::with_capacity(manifest.roots.len());
        for root in &manifest.roots {
            let cell = if let Some(actor) = manifest.actor(root) {
                let spec = SpawnSpec {
                    name: Some(actor.name.clone()),
                    mailbox: actor.mailbox,
                    sandbox: Some(actor.sandbox.clone()),
                    ..SpawnSpec::new(actor.component.clone(), actor.args.clone())
                };
                self.inner.spawn(spec).await
            } else {
                let spec = supervisor_spec(manifest, root);
                crate::supervisor::start(&self.inner, spec, Some(root.clone()), None, None, None)
                    .await
            };
            let cell = cell.map_err(|source| Error::Spawn {
                actor: root.clone(),
                source,
            })?;
            started.push(self.actor_ref(cell));
        }
        Ok(started)
    }

    /// Starts an actor from component `component` with `args` for its `init`, and
    /// returns once `init` has returned. `init` failing or trapping is
    /// [`SpawnError::InitFailed`] with the reason.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use serde_json::json;
    /// let counter = runtime.spawn("counter", &json!({ "start": 1 })).await?;
    /// assert!(counter.exit_reason().is_none());
    /// // The counter's init wants an integer `start`.
    /// let err = runtime.spawn("counter", &json!({ "start": "one" })).await.unwrap_err();
    /// assert!(matches!(err, foundation::SpawnError::InitFailed { .. }));
    /// # Ok(()) }
    /// ```
    pub async fn spawn<A: Serialize + ?Sized>(
        &self,
        component: &str,
        args: &A,
    ) -> Result<ActorRef, SpawnError> {
        self.spawn_with(ActorOptions::new(component), args).await
    }

    /// Like [`Runtime::spawn`], with a name and a mailbox capacity.
    pub async fn spawn_with<A: Serialize + ?Sized>(
        &self,
        options: ActorOptions,
        args: &A,
    ) -> Result<ActorRef, SpawnError> {
        let args = crate::codec::encode(args).map_err(|e| SpawnError::Codec(e.to_string()))?;
        let spec = SpawnSpec {
            name: options.name,
            mailbox: options.mailbox,
            // The default sandbox is shared rather than allocated per actor.
            sandbox: (!options.sandbox.capabilities.is_empty()
                || options.sandbox.limits != Limits::default())
            .then(|| Arc::new(options.sandbox)),
            ..SpawnSpec::new(options.component, args)
        };
        let cell = self.inner.spawn(spec).await?;
        Ok(self.actor_ref(cell))
    }

    fn actor_ref(&self, cell: Arc<ActorCell>) -> ActorRef {
        ActorRef {
            slot: cell.slot(),
            rt: self.inner.clone(),
        }
    }

    /// Starts a supervisor and its children (in order), registered as `name` if
    /// given, and returns once every child has started. If one fails to start, those
    /// started are stopped (newest first) and the error names the child.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::{ChildSpec, Strategy, SupervisorSpec};
    /// let args = foundation::codec::encode(&serde_json::json!({ "start": 0 }))?;
    /// let spec = SupervisorSpec {
    ///     strategy: Strategy::OneForOne,
    ///     children: vec![ChildSpec::actor("counter", "counter", args).name("counter")],
    ///     ..SupervisorSpec::default()
    /// };
    /// let root = runtime.start_supervisor(spec, Some("root")).await?;
    /// let counter = runtime.whereis("counter").expect("started by the supervisor");
    /// let n: i64 = counter.call(&"Get", std::time::Duration::from_secs(5)).await?;
    /// assert_eq!(n, 0);
    /// // Stopping the supervisor stops its children first.
    /// root.stop(foundation::ExitReason::Shutdown).await;
    /// assert!(runtime.whereis("counter").is_none());
    /// # Ok(()) }
    /// ```
    pub async fn start_supervisor(
        &self,
        spec: crate::supervisor::SupervisorSpec,
        name: Option<&str>,
    ) -> Result<ActorRef, SpawnError> {
        if self.inner.shutting_down.load(Ordering::Acquire) {
            return Err(SpawnError::Unavailable(
                "the runtime is shutting down".into(),
            ));
        }
        let cell = crate::supervisor::start(
            &self.inner,
            spec,
            name.map(str::to_string),
            None,
            None,
            None,
        )
        .await?;
        Ok(self.actor_ref(cell))
    }

    /// The live actor registered as `name` (probes are not actors: `None` for them).
    pub fn whereis(&self, name: &str) -> Option<ActorRef> {
        self.inner
            .registry
            .whereis(name)
            .filter(|c| !c.is_probe)
            .map(|c| self.actor_ref(c))
    }

    /// The live actor with this id (probes are not actors: `None` for them).
    pub fn actor(&self, id: ActorId) -> Option<ActorRef> {
        self.inner
            .registry
            .get(id)
            .filter(|c| !c.is_probe)
            .map(|c| self.actor_ref(c))
    }

    /// A host-side mailbox with an actor address, for Rust code (tests) to receive
    /// what guests send. Its mailbox has the runtime's default capacity.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// let mut probe = runtime.probe();
    /// let counter = runtime.actor(probe.id()); // a probe is not an actor
    /// assert!(counter.is_none());
    /// probe.refute_receive(std::time::Duration::from_millis(10)).await;
    /// # Ok(()) }
    /// ```
    pub fn probe(&self) -> crate::probe::Probe {
        crate::probe::Probe::new(
            self.inner.clone(),
            self.inner.ids.next(),
            self.inner.settings.mailbox_capacity,
        )
    }

    /// Casts `msg` to every subscriber whose pattern matches `topic` (from the host,
    /// sender 0). See docs/semantics.md, "Pub/sub" and "Fan-out".
    pub async fn publish<M: Serialize + ?Sized>(
        &self,
        topic: &str,
        msg: &M,
    ) -> Result<crate::Fanout, crate::EventError> {
        let bytes = self.encode_event(msg)?;
        let to = self.inner.events.subscribers(topic)?;
        Ok(crate::events::fan_out(
            &self.inner,
            0,
            &to,
            &bytes,
            &format!("publish to {topic:?}"),
        )
        .await)
    }

    /// Casts `msg` to every member of `group` (from the host).
    pub async fn dispatch<M: Serialize + ?Sized>(
        &self,
        group: &str,
        msg: &M,
    ) -> Result<crate::Fanout, crate::EventError> {
        let bytes = self.encode_event(msg)?;
        let to = self.inner.events.members(group)?;
        Ok(crate::events::fan_out(
            &self.inner,
            0,
            &to,
            &bytes,
            &format!("dispatch to group {group:?}"),
        )
        .await)
    }

    /// The live members of `group`, each once, in join order.
    pub fn members(&self, group: &str) -> Result<Vec<ActorId>, crate::EventError> {
        Ok(self
            .inner
            .events
            .members(group)?
            .into_iter()
            .filter_map(ActorId::from_raw)
            .collect())
    }

    /// How often each limit and quota was hit since the runtime started (see
    /// `docs/semantics.md`, "Security model").
    pub fn limit_hits(&self) -> LimitHits {
        self.inner.hits.snapshot()
    }

    /// Messages of fan-outs and timers that could not be delivered (mailbox full
    /// past the send timeout, or the recipient gone), since the runtime started.
    pub fn dead_letters(&self) -> u64 {
        self.inner
            .events
            .dead_letters
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn encode_event<M: Serialize + ?Sized>(&self, msg: &M) -> Result<Vec<u8>, crate::EventError> {
        let bytes = crate::codec::encode(msg)
            .map_err(|e| crate::EventError::Invalid(format!("the message does not encode: {e}")))?;
        if bytes.len() > self.inner.settings.max_message_size {
            return Err(crate::EventError::TooLarge(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// Creates a table owned by the host (it lives until deleted or the runtime
    /// stops). See docs/semantics.md, "Tables".
    pub fn create_table(
        &self,
        options: crate::TableOptions,
    ) -> Result<crate::TableRef, crate::TableError> {
        let table = self.inner.tables.create(
            crate::tables::HOST,
            options,
            self.inner.settings.max_message_size,
            &self.inner.registry,
        )?;
        Ok(crate::TableRef {
            table,
            rt: self.inner.clone(),
        })
    }

    /// The live table named `name`.
    pub fn table(&self, name: &str) -> Result<crate::TableRef, crate::TableError> {
        Ok(crate::TableRef {
            table: self.inner.tables.by_name(name)?,
            rt: self.inner.clone(),
        })
    }

    /// The live table with this id (as in a table transfer).
    pub fn table_by_id(&self, id: u64) -> Result<crate::TableRef, crate::TableError> {
        Ok(crate::TableRef {
            table: self.inner.tables.by_id(id)?,
            rt: self.inner.clone(),
        })
    }

    /// Asks the supervisor `supervisor` to add and start a child (OTP's
    /// `supervisor:start_child`, `DynamicSupervisor.start_child`); returns a reference
    /// to it that follows it across restarts. Waits up to 60 s for the supervisor.
    pub async fn start_child(
        &self,
        supervisor: &ActorRef,
        child: crate::supervisor::NewChild,
    ) -> Result<ActorRef, SpawnError> {
        use crate::supervisor::{SupervisorReply, SupervisorRequest};
        match supervisor_request(supervisor, &SupervisorRequest::StartChild(child)).await? {
            SupervisorReply::Started(id) => ActorId::from_raw(id)
                .and_then(|id| self.inner.registry.get(id))
                .map(|cell| self.actor_ref(cell))
                .ok_or_else(|| {
                    SpawnError::Unavailable("the child stopped right after starting".into())
                }),
            SupervisorReply::Error(e) => Err(SpawnError::Unavailable(e)),
            other => Err(SpawnError::Unavailable(format!(
                "unexpected supervisor reply {other:?}"
            ))),
        }
    }

    /// Stops and removes a supervisor's child by id (OTP's `terminate_child` and
    /// `delete_child`).
    pub async fn terminate_child(&self, supervisor: &ActorRef, id: &str) -> Result<(), SpawnError> {
        use crate::supervisor::{SupervisorReply, SupervisorRequest};
        match supervisor_request(
            supervisor,
            &SupervisorRequest::TerminateChild(id.to_string()),
        )
        .await?
        {
            SupervisorReply::Terminated => Ok(()),
            SupervisorReply::Error(e) => Err(SpawnError::Unavailable(e)),
            other => Err(SpawnError::Unavailable(format!(
                "unexpected supervisor reply {other:?}"
            ))),
        }
    }

    /// A supervisor's children in start order (OTP's `which_children`).
    pub async fn which_children(
        &self,
        supervisor: &ActorRef,
    ) -> Result<Vec<crate::supervisor::ChildInfo>, SpawnError> {
        use crate::supervisor::{SupervisorReply, SupervisorRequest};
        match supervisor_request(supervisor, &SupervisorRequest::WhichChildren).await? {
            SupervisorReply::Children(children) => Ok(children),
            SupervisorReply::Error(e) => Err(SpawnError::Unavailable(e)),
            other => Err(SpawnError::Unavailable(format!(
                "unexpected supervisor reply {other:?}"
            ))),
        }
    }

    /// How many actors are alive.
    pub fn actor_count(&self) -> usize {
        self.inner.registry.len()
    }

    /// Stops every actor, newest first (reverse start order): each runs `terminate`
    /// with reason `shutdown` within the shutdown timeout, and is killed past it. New
    /// spawns are refused from the moment this is called.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
        loop {
            let cells = self.inner.registry.newest_first();
            if cells.is_empty() {
                break;
            }
            for cell in cells {
                stop(
                    &cell,
                    ExitReason::Shutdown,
                    self.inner.settings.shutdown_timeout,
                )
                .await;
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for cell in self.inner.registry.all_actors() {
            kill(&cell);
        }
    }
}

/// Asks an actor to stop and waits; past `timeout` it is killed.
async fn stop(cell: &ActorCell, reason: ExitReason, timeout: Duration) -> ExitReason {
    if cell.mailbox.signals.send(Signal::Stop(reason)).is_ok()
        && let Ok(reason) = tokio::time::timeout(timeout, wait_exit(cell)).await
    {
        return reason;
    }
    kill(cell);
    wait_exit(cell).await
}

fn kill(cell: &ActorCell) {
    cell.kill_with(ExitReason::Killed);
}

/// How to start an actor from Rust: the component, and optionally a name to register
/// and a mailbox capacity.
#[derive(Debug, Clone)]
pub struct ActorOptions {
    component: String,
    name: Option<String>,
    mailbox: Option<usize>,
    sandbox: Sandbox,
}

impl ActorOptions {
    /// Options for an actor of `component`.
    pub fn new(component: &str) -> Self {
        ActorOptions {
            component: component.to_string(),
            name: None,
            mailbox: None,
            sandbox: Sandbox::default(),
        }
    }

    /// Registers the actor under `name` before its `init` runs.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Its mailbox capacity (at least 1).
    pub fn mailbox(mut self, capacity: usize) -> Self {
        self.mailbox = Some(capacity);
        self
    }

    /// Its linear-memory limit in bytes (capped by the runtime's
    /// [`RuntimeBuilder::max_memory_bytes`]). Growing past it fails inside the guest,
    /// which usually traps; the exit reason then names the limit.
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.sandbox.limits.max_memory = Some(bytes);
        self
    }

    /// Its handler deadline (see [`RuntimeBuilder::handler_deadline`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.sandbox.limits.deadline = Some(deadline);
        self
    }

    /// Its capabilities and limits (replacing what [`ActorOptions::max_memory`] and
    /// [`ActorOptions::deadline`] set). Actors it starts run in the same sandbox.
    pub fn sandbox(mut self, sandbox: Sandbox) -> Self {
        self.sandbox = sandbox;
        self
    }
}

/// A handle to an actor, for calls and casts from Rust. Cheap to clone.
///
/// Messages are any serde type, encoded as MessagePack (the guest SDK's format).
///
/// A reference to a supervised child follows it across restarts: after a restart it
/// reaches the new instance (its [`ActorRef::id`] changes).
#[derive(Clone)]
pub struct ActorRef {
    slot: Arc<crate::registry::Slot>,
    rt: Arc<Inner>,
}

impl std::fmt::Debug for ActorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cell = self.slot.get();
        write!(f, "ActorRef({} {})", cell.label, cell.id)
    }
}

impl ActorRef {
    /// The current instance.
    fn cell(&self) -> Arc<ActorCell> {
        self.slot.get()
    }

    /// The id of the actor's current instance.
    pub fn id(&self) -> ActorId {
        self.cell().id
    }

    /// Its manifest name or registered name at start, else `component#id`; for logs.
    pub fn label(&self) -> String {
        self.cell().label.to_string()
    }

    /// Calls the actor and waits at most `timeout` for the reply.
    ///
    /// Fails at once with `Noproc` if the actor is dead, and with `Exited(reason)` if
    /// it stops before replying; with `Timeout` after `timeout`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use std::time::Duration;
    /// use foundation::{ActorError, ExitReason, SendError};
    /// let counter = runtime.spawn("counter", &serde_json::json!({ "start": 5 })).await?;
    /// let n: i64 = counter.call(&"Get", Duration::from_secs(5)).await?;
    /// assert_eq!(n, 5);
    /// assert_eq!(counter.stop(ExitReason::Shutdown).await, ExitReason::Shutdown);
    /// let dead = counter.call::<_, i64>(&"Get", Duration::from_secs(5)).await;
    /// assert_eq!(dead, Err(ActorError::Send(SendError::Noproc)));
    /// # Ok(()) }
    /// ```
    pub async fn call<M: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        msg: &M,
        timeout: Duration,
    ) -> Result<R, ActorError> {
        let bytes = crate::codec::encode(msg).map_err(|e| ActorError::Encode(e.to_string()))?;
        let reply = self.call_raw(bytes, timeout).await?;
        crate::codec::decode(&reply).map_err(|e| ActorError::Decode(e.to_string()))
    }

    /// [`ActorRef::call`] with encoded bytes.
    pub async fn call_raw(&self, msg: Vec<u8>, timeout: Duration) -> Result<Vec<u8>, SendError> {
        self.rt.call(0, &self.cell(), msg, timeout).await
    }

    /// Casts to the actor, waiting for room in its mailbox up to the runtime's send
    /// timeout, then failing with `MailboxFull`.
    pub async fn cast<M: Serialize + ?Sized>(&self, msg: &M) -> Result<(), ActorError> {
        let bytes = crate::codec::encode(msg).map_err(|e| ActorError::Encode(e.to_string()))?;
        Ok(self.cast_raw(bytes).await?)
    }

    /// [`ActorRef::cast`] with encoded bytes.
    pub async fn cast_raw(&self, msg: Vec<u8>) -> Result<(), SendError> {
        self.rt.cast(0, &self.cell(), msg).await
    }

    /// Casts only if the mailbox has room now; `MailboxFull` otherwise.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> anyhow::Result<()> {
    /// # let runtime = foundation::Runtime::builder().build()?;
    /// # runtime.add_component("counter", foundation_fixtures::COUNTER)?;
    /// use foundation::{ActorOptions, ActorError, SendError};
    /// use serde_json::json;
    /// let counter = runtime
    ///     .spawn_with(ActorOptions::new("counter").name("c").mailbox(1), &json!({}))
    ///     .await?;
    /// match counter.try_cast(&json!({ "Add": 1 })) {
    ///     Ok(()) => {}
    ///     // Back-pressure: shed load or retry later, but nothing was queued.
    ///     Err(ActorError::Send(SendError::MailboxFull { capacity })) => {
    ///         eprintln!("counter busy ({capacity} queued)")
    ///     }
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_cast<M: Serialize + ?Sized>(&self, msg: &M) -> Result<(), ActorError> {
        let bytes = crate::codec::encode(msg).map_err(|e| ActorError::Encode(e.to_string()))?;
        Ok(self.rt.try_cast(0, &self.cell(), bytes)?)
    }

    /// The exit reason, once the actor has stopped.
    pub fn exit_reason(&self) -> Option<ExitReason> {
        self.cell().exit.borrow().clone()
    }

    /// Waits until the actor stops and returns why.
    pub async fn wait_exit(&self) -> ExitReason {
        wait_exit(&self.cell()).await
    }

    /// Asks the actor to stop with `reason` (its `terminate` runs, within the shutdown
    /// timeout; past it the actor is killed) and returns its final exit reason.
    pub async fn stop(&self, reason: ExitReason) -> ExitReason {
        stop(&self.cell(), reason, self.rt.settings.shutdown_timeout).await
    }

    /// Kills the actor: no `terminate`; watchers see `killed`. A guest busy in a
    /// handler is stopped at its next epoch tick.
    pub fn kill(&self) {
        kill(&self.cell())
    }
}
