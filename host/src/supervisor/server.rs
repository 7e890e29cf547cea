//! Supervisors: host-side actors that start children from child specs, trap their
//! exits, and restart them by strategy, restart type and intensity, as OTP's
//! `supervisor` does (docs/semantics.md, "Supervisors").
//!
//! A supervisor has an `ActorCell` like any actor (it can be named, monitored, linked,
//! and be the child of another supervisor) but runs on the host: its loop reads exit
//! signals from its children, which are linked to it and started with `spawn-link`
//! semantics. Each child has a `Slot` that outlives its instances, so an `ActorRef`
//! taken before a restart reaches the new instance.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use crate::error::{ExitReason, SpawnError};
use crate::id::ActorId;
use crate::mailbox::{Envelope, MailboxRx, Received, Signal};
use crate::registry::{self, ActorCell, Slot};
use crate::runtime::{Inner, SpawnSpec};
use crate::sandbox::{Authority, Lineage, Permit, Sandbox};

/// How a supervisor restarts its children when one exits and must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Only the exited child restarts (S2).
    #[default]
    OneForOne,
    /// All children stop (newest first) and all start again in order (S3).
    OneForAll,
    /// The children after the exited one stop (newest first); it and they start
    /// again in order; earlier ones are untouched (S4).
    RestForOne,
}

/// When a child is restarted (S5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Always.
    #[default]
    Permanent,
    /// Unless it exited `normal` or `shutdown`.
    Transient,
    /// Never; it leaves the child list when it exits.
    Temporary,
}

/// How a child is stopped (S7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Killed at once; `terminate` does not run.
    BrutalKill,
    /// Asked to stop (its `terminate` runs), killed past the timeout.
    Timeout(Duration),
    /// Asked to stop, waited for without limit (the default for supervisors).
    Infinity,
}

/// What a child is.
#[derive(Debug, Clone)]
pub enum ChildKind {
    /// An actor from a component.
    Actor {
        /// The component's name.
        component: String,
        /// The encoded init argument; the same for every restart.
        args: Vec<u8>,
        /// Its mailbox capacity.
        mailbox: Option<usize>,
        /// Its capabilities and limits (`None`: the supervisor's
        /// [`SupervisorSpec::sandbox`]).
        sandbox: Option<Arc<Sandbox>>,
    },
    /// A nested supervisor.
    Supervisor(SupervisorSpec),
}

/// One child of a supervisor.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Unique among the supervisor's children; names the child in errors and logs.
    pub id: String,
    /// What to start.
    pub kind: ChildKind,
    /// A name to register each instance under.
    pub name: Option<String>,
    /// When to restart it (default `Permanent`).
    pub restart: Restart,
    /// How to stop it (default 5 s for actors, `Infinity` for supervisors).
    pub shutdown: Shutdown,
    /// Whether its exit can shut its supervisor down (S10, see `AutoShutdown`). Only
    /// transient and temporary children can be significant.
    pub significant: bool,
}

impl ChildSpec {
    /// A permanent actor child of `component` with `args` (encoded), stopped with a
    /// 5 s shutdown timeout.
    pub fn actor(id: &str, component: &str, args: Vec<u8>) -> ChildSpec {
        ChildSpec {
            id: id.to_string(),
            kind: ChildKind::Actor {
                component: component.to_string(),
                args,
                mailbox: None,
                sandbox: None,
            },
            name: None,
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
            significant: false,
        }
    }

    /// A nested supervisor child (permanent, shutdown `Infinity`).
    pub fn supervisor(id: &str, spec: SupervisorSpec) -> ChildSpec {
        ChildSpec {
            id: id.to_string(),
            kind: ChildKind::Supervisor(spec),
            name: None,
            restart: Restart::Permanent,
            shutdown: Shutdown::Infinity,
            significant: false,
        }
    }

    /// Registers each instance of this child under `name`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Runs each instance of this actor child in `sandbox` (no effect on a
    /// supervisor child: give its spec a [`SupervisorSpec::sandbox`]).
    pub fn sandbox(mut self, sandbox: Sandbox) -> Self {
        if let ChildKind::Actor { sandbox: s, .. } = &mut self.kind {
            *s = Some(Arc::new(sandbox));
        }
        self
    }

    /// Sets the restart type.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Sets how the child is stopped.
    pub fn shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// Marks the child significant (S10).
    pub fn significant(mut self, significant: bool) -> Self {
        self.significant = significant;
        self
    }
}

/// A supervisor: strategy, restart intensity and children in start order.
#[derive(Debug, Clone)]
pub struct SupervisorSpec {
    /// Default `OneForOne`.
    pub strategy: Strategy,
    /// More than this many restarts within `max_seconds` makes the supervisor give up
    /// (S6). OTP's default: 1.
    pub max_restarts: u32,
    /// The intensity window. OTP's default: 5 s.
    pub max_seconds: Duration,
    /// Children, started in this order and stopped in reverse.
    pub children: Vec<ChildSpec>,
    /// The most children at once; `start_child` past it fails with `max_children`
    /// (S12). Default: no limit.
    pub max_children: Option<usize>,
    /// When the exit of significant children shuts the supervisor down (S10).
    pub auto_shutdown: AutoShutdown,
    /// The sandbox of its actor children that name none, including children added
    /// at run time and those of nested supervisors that name none either. `None`:
    /// the runtime's default (nothing granted). A supervisor started by a guest gets
    /// the guest's.
    pub sandbox: Option<Arc<Sandbox>>,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec {
            strategy: Strategy::OneForOne,
            max_restarts: 1,
            max_seconds: Duration::from_secs(5),
            children: Vec::new(),
            max_children: None,
            auto_shutdown: AutoShutdown::Never,
            sandbox: None,
        }
    }
}

/// When a supervisor shuts itself down because significant children exited (S10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoShutdown {
    /// Never (the default).
    #[default]
    Never,
    /// When any significant child exits and is not restarted.
    AnySignificant,
    /// When every significant child has exited and none is restarted.
    AllSignificant,
}

/// A request to a supervisor, sent as a call with a MessagePack payload; guests and
/// JSON tools use the same shape. The reply is a [`SupervisorReply`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum SupervisorRequest {
    /// Adds a child and starts it (OTP's `start_child`). Replies `Started(id)`.
    StartChild(NewChild),
    /// Stops a child by its id and removes it (OTP's `terminate_child` followed by
    /// `delete_child`). Replies `Terminated`.
    TerminateChild(String),
    /// Lists the children in start order. Replies `Children`.
    WhichChildren,
}

/// A child added at run time.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NewChild {
    /// Its id; generated (`child-N`) when absent.
    pub id: Option<String>,
    /// The component to run.
    pub component: String,
    /// The encoded init argument, kept for restarts.
    #[serde(with = "serde_bytes")]
    pub args: Vec<u8>,
    /// A name to register each instance under.
    pub name: Option<String>,
    /// Its restart type (default `permanent`).
    pub restart: Restart,
    /// Milliseconds it may take to stop (default 5000); `None` with
    /// `brutal_kill` set kills it at once.
    pub shutdown_ms: Option<u64>,
    /// Kill at once on shutdown, without `terminate`.
    pub brutal_kill: bool,
    /// Whether it is significant (S10).
    pub significant: bool,
}

/// A supervisor spec as guests send it (`runtime.start-supervisor`), in MessagePack.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SupervisorWire {
    /// The name to register the supervisor under.
    pub name: Option<String>,
    /// Its strategy (default `one_for_one`).
    pub strategy: Strategy,
    /// Default 1.
    pub max_restarts: Option<u32>,
    /// Seconds; default 5.
    pub max_seconds: Option<u64>,
    /// The most children at once.
    pub max_children: Option<usize>,
    /// When significant children shut it down.
    pub auto_shutdown: AutoShutdown,
    /// Its children in start order.
    pub children: Vec<ChildWire>,
}

/// One child of a [`SupervisorWire`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum ChildWire {
    /// An actor, as in `StartChild`.
    Actor(NewChild),
    /// A nested supervisor.
    Supervisor {
        /// Its id among its siblings.
        id: String,
        /// The name to register it under.
        #[serde(default)]
        name: Option<String>,
        /// Its restart type (default `permanent`).
        #[serde(default)]
        restart: Restart,
        /// Its own spec.
        spec: SupervisorWire,
    },
}

impl SupervisorWire {
    /// The spec to start, or what is wrong with it.
    pub(crate) fn into_spec(self) -> Result<SupervisorSpec, String> {
        let mut next = 0;
        let children = self
            .children
            .into_iter()
            .map(|child| match child {
                ChildWire::Actor(new) => {
                    next += 1;
                    Ok(new.into_child_spec(|| format!("child-{next}")))
                }
                ChildWire::Supervisor {
                    id,
                    name,
                    restart,
                    spec,
                } => Ok(ChildSpec {
                    id,
                    kind: ChildKind::Supervisor(spec.into_spec()?),
                    name,
                    restart,
                    shutdown: Shutdown::Infinity,
                    significant: false,
                }),
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(SupervisorSpec {
            strategy: self.strategy,
            max_restarts: self.max_restarts.unwrap_or(1),
            max_seconds: Duration::from_secs(self.max_seconds.unwrap_or(5)),
            children,
            max_children: self.max_children,
            auto_shutdown: self.auto_shutdown,
            sandbox: None,
        })
    }
}

impl NewChild {
    /// The child spec this describes; `fallback_id` names it when it has no id.
    fn into_child_spec(self, fallback_id: impl FnOnce() -> String) -> ChildSpec {
        let shutdown = match (self.brutal_kill, self.shutdown_ms) {
            (true, _) => Shutdown::BrutalKill,
            (false, Some(ms)) => Shutdown::Timeout(Duration::from_millis(ms)),
            (false, None) => Shutdown::Timeout(Duration::from_secs(5)),
        };
        ChildSpec {
            id: self.id.unwrap_or_else(fallback_id),
            kind: ChildKind::Actor {
                component: self.component,
                args: self.args,
                mailbox: None,
                sandbox: None,
            },
            name: self.name,
            restart: self.restart,
            shutdown,
            significant: self.significant,
        }
    }
}

/// A supervisor's answer to a [`SupervisorRequest`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SupervisorReply {
    /// The child started; its actor id.
    Started(u64),
    /// The child was stopped and removed.
    Terminated,
    /// The children in start order.
    Children(Vec<ChildInfo>),
    /// The request failed: `max_children`, `already_present`, `not_found`, a start
    /// failure with its reason, or a request that does not decode.
    Error(String),
}

/// One child, as `WhichChildren` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChildInfo {
    /// Its id.
    pub id: String,
    /// Its current instance's id; `None` while it is not running.
    pub actor: Option<u64>,
    /// Whether it is a supervisor.
    pub supervisor: bool,
}

/// A child as the supervisor tracks it.
struct Child {
    spec: ChildSpec,
    /// The running instance, if any.
    cell: Option<Arc<ActorCell>>,
    /// Its stable address across instances.
    slot: Arc<Slot>,
    /// Tables its last instance left to the supervisor (as heir), with their heir
    /// data: handed to the next instance before its `init`.
    inherited: Vec<(u64, Vec<u8>)>,
    /// The lineage its instances belong to (see `sandbox::Lineage`): the one of the
    /// guest that asked for it, else one of its own that outlives its restarts.
    lineage: Arc<Lineage>,
    /// The `max_children` unit it takes from a guest's lineage while it is a child
    /// here (across restarts).
    permit: Option<Permit>,
}

impl Child {
    fn new(spec: ChildSpec, lineage: Option<&Arc<Lineage>>) -> Child {
        Child {
            spec,
            cell: None,
            slot: Arc::default(),
            inherited: Vec::new(),
            lineage: lineage.cloned().unwrap_or_default(),
            permit: None,
        }
    }
}

/// Starts a supervisor linked to `parent` (if any) and its children in order; returns
/// once all have started. If a child fails to start, the ones started are stopped in
/// reverse order and the error names the child.
pub(crate) async fn start(
    rt: &Arc<Inner>,
    spec: SupervisorSpec,
    name: Option<String>,
    parent: Option<Arc<ActorCell>>,
    slot: Option<Arc<Slot>>,
    lineage: Option<Arc<Lineage>>,
) -> Result<Arc<ActorCell>, SpawnError> {
    if let Some(dup) = duplicate_id(&spec.children) {
        return Err(SpawnError::Unavailable(format!(
            "two children have the id {dup:?}"
        )));
    }
    if let Some(c) = spec
        .children
        .iter()
        .find(|c| c.significant && c.restart == Restart::Permanent)
    {
        return Err(SpawnError::Unavailable(format!(
            "child {:?} is significant and permanent; a significant child must be transient or temporary",
            c.id
        )));
    }
    let id = rt.ids.next();
    let label: Arc<str> = name
        .clone()
        .unwrap_or_else(|| format!("supervisor{id}"))
        .into();
    // A supervisor traps exits from the start: a child's exit must never kill it.
    let crate::runtime::NewCell { cell, rx, exit_tx } = rt.new_cell(
        id,
        label,
        rt.settings.mailbox_capacity,
        usize::MAX,
        name.as_deref(),
        parent.as_ref(),
    )?;
    cell.trap_exit.store(true, Ordering::SeqCst);
    cell.supervised.store(parent.is_some(), Ordering::SeqCst);
    let _ = cell.authority.set(Authority {
        sandbox: spec
            .sandbox
            .clone()
            .unwrap_or_else(|| rt.default_sandbox.clone()),
        lineage: lineage.clone().unwrap_or_default(),
    });
    if let Some(slot) = &slot {
        slot.set(cell.clone());
        cell.set_slot(slot);
    }
    let (ready_tx, ready_rx) = oneshot::channel();
    let sup = Supervisor {
        rt: rt.clone(),
        cell: cell.clone(),
        rx,
        exit_tx,
        parent: parent.as_ref().map(|p| p.id),
        strategy: spec.strategy,
        max_restarts: spec.max_restarts,
        max_seconds: spec.max_seconds,
        max_children: spec.max_children,
        auto_shutdown: spec.auto_shutdown,
        sandbox: spec.sandbox,
        children: spec
            .children
            .into_iter()
            .map(|spec| Child::new(spec, lineage.as_ref()))
            .collect(),
        lineage,
        next_child: 1,
        restarts: VecDeque::new(),
        exit: None,
    };
    cell.arm_abort(crate::sched::spawn_actor(&rt.handle, sup.run(ready_tx)));
    match ready_rx.await {
        Ok(Ok(())) => Ok(cell),
        Ok(Err(e)) => {
            crate::runtime::wait_exit(&cell).await;
            Err(e)
        }
        Err(_) => Err(SpawnError::InitFailed {
            actor: cell.label.to_string(),
            reason: crate::runtime::wait_exit(&cell).await,
        }),
    }
}

/// `start` for a nested supervisor, boxed: a supervisor's task starts its child
/// supervisors, so the future is recursive and must name its own `Send` type.
fn start_nested(
    rt: Arc<Inner>,
    spec: SupervisorSpec,
    name: Option<String>,
    parent: Arc<ActorCell>,
    slot: Arc<Slot>,
    lineage: Option<Arc<Lineage>>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Arc<ActorCell>, SpawnError>> + Send>>
{
    Box::pin(async move { start(&rt, spec, name, Some(parent), Some(slot), lineage).await })
}

fn duplicate_id(children: &[ChildSpec]) -> Option<&str> {
    children
        .iter()
        .enumerate()
        .find(|(i, c)| children[..*i].iter().any(|d| d.id == c.id))
        .map(|(_, c)| c.id.as_str())
}

struct Supervisor {
    rt: Arc<Inner>,
    cell: Arc<ActorCell>,
    rx: MailboxRx,
    exit_tx: watch::Sender<Option<ExitReason>>,
    parent: Option<ActorId>,
    strategy: Strategy,
    max_restarts: u32,
    max_seconds: Duration,
    max_children: Option<usize>,
    auto_shutdown: AutoShutdown,
    /// The sandbox of actor children that name none.
    sandbox: Option<Arc<Sandbox>>,
    /// Set when a guest started this supervisor: its children join the guest's
    /// lineage, each on the guest's `max_children`.
    lineage: Option<Arc<Lineage>>,
    /// For generated child ids.
    next_child: u64,
    /// When recent restarts happened, oldest first.
    restarts: VecDeque<Instant>,
    children: Vec<Child>,
    exit: Option<ExitReason>,
}

impl Supervisor {
    async fn run(mut self, ready: oneshot::Sender<Result<(), SpawnError>>) {
        if let Err(e) = self.start_children(0).await {
            self.stop_children(0, self.children.len()).await;
            self.exit = Some(ExitReason::Shutdown);
            let _ = ready.send(Err(e));
            return;
        }
        let _ = ready.send(Ok(()));
        let reason = self.supervise().await;
        self.exit = Some(reason);
    }

    /// Starts children `from..` in order. A failure leaves the ones before it running.
    async fn start_children(&mut self, from: usize) -> Result<(), SpawnError> {
        for i in from..self.children.len() {
            self.start_child(i).await?;
        }
        Ok(())
    }

    async fn start_child(&mut self, i: usize) -> Result<(), SpawnError> {
        let inherit = std::mem::take(&mut self.children[i].inherited);
        if let Some(lineage) = &self.lineage
            && self.children[i].permit.is_none()
        {
            let child = &self.children[i];
            let sandbox = match &child.spec.kind {
                ChildKind::Actor {
                    sandbox: Some(s), ..
                } => s,
                _ => self.sandbox.as_ref().unwrap_or(&self.rt.default_sandbox),
            };
            let quotas = self.rt.effective(sandbox);
            let permit = crate::actor::child_permit(&self.rt, &self.cell.label, lineage, &quotas)
                .map_err(|e| {
                SpawnError::Unavailable(format!("child {:?} failed to start: {e:?}", child.spec.id))
            })?;
            self.children[i].permit = Some(permit);
        }
        let child = &self.children[i];
        let started = match &child.spec.kind {
            ChildKind::Actor {
                component,
                args,
                mailbox,
                sandbox,
            } => {
                let spec = SpawnSpec {
                    name: child.spec.name.clone(),
                    mailbox: *mailbox,
                    link: Some(self.cell.clone()),
                    slot: Some(child.slot.clone()),
                    inherit,
                    sandbox: sandbox.clone().or_else(|| self.sandbox.clone()),
                    lineage: Some(child.lineage.clone()),
                    ..SpawnSpec::new(component.clone(), args.clone())
                };
                self.rt.spawn(spec).await
            }
            ChildKind::Supervisor(spec) => {
                let mut spec = spec.clone();
                if spec.sandbox.is_none() {
                    spec.sandbox = self.sandbox.clone();
                }
                start_nested(
                    self.rt.clone(),
                    spec,
                    child.spec.name.clone(),
                    self.cell.clone(),
                    child.slot.clone(),
                    self.lineage.as_ref().map(|_| child.lineage.clone()),
                )
                .await
            }
        };
        let cell = started.map_err(|e| {
            SpawnError::Unavailable(format!("child {:?} failed to start: {e}", child.spec.id))
        })?;
        // The slot already points at the new instance: it was set before `init`.
        self.children[i].cell = Some(cell);
        Ok(())
    }

    /// Stops children `from..to`, newest first, each by its shutdown spec.
    async fn stop_children(&mut self, from: usize, to: usize) {
        for i in (from..to).rev() {
            if let Some(cell) = self.children[i].cell.take() {
                stop_child(&self.cell, &cell, self.children[i].spec.shutdown).await;
            }
        }
    }

    async fn supervise(&mut self) -> ExitReason {
        let mut requests = Vec::with_capacity(1);
        loop {
            match self.rx.recv(&mut requests, 1).await {
                Received::Signal(signal) => {
                    if let Some(reason) = self.on_signal(signal).await {
                        return reason;
                    }
                }
                Received::User => {
                    for envelope in requests.drain(..) {
                        self.on_request(envelope).await;
                    }
                }
                Received::Closed => return ExitReason::Shutdown,
            }
        }
    }

    async fn on_signal(&mut self, signal: Signal) -> Option<ExitReason> {
        match signal {
            Signal::Stop(reason) => {
                self.stop_children(0, self.children.len()).await;
                Some(reason)
            }
            // A supervisor holds no monitors and starts no tasks.
            Signal::Down(_) | Signal::TaskDone { .. } => None,
            // A table a child left to its supervisor (as heir) goes to that child's
            // next instance before its init; until then, and if the child is not
            // restarted, the supervisor keeps it.
            Signal::TableTransfer { table, from, data } => {
                if let Some(i) = self
                    .children
                    .iter()
                    .position(|c| c.cell.as_ref().is_some_and(|c| c.id.get() == from))
                {
                    self.children[i].inherited.push((table, data));
                }
                None
            }
            Signal::Exit { from, reason } => {
                if Some(from) == self.parent {
                    // OTP: a supervisor whose parent exits stops its children and
                    // exits with the same reason.
                    self.stop_children(0, self.children.len()).await;
                    return Some(reason);
                }
                // None: an instance already replaced or stopped by us.
                let i = self
                    .children
                    .iter()
                    .position(|c| c.cell.as_ref().is_some_and(|c| c.id == from))?;
                self.children[i].cell = None;
                self.child_exited(i, reason).await
            }
        }
    }

    async fn on_request(&mut self, envelope: Envelope) {
        let (payload, reply, from) = match envelope {
            Envelope::Call {
                payload,
                reply,
                from,
            } => (payload, reply, from),
            Envelope::Cast { from, .. } => {
                tracing::warn!(supervisor = %self.cell.label, from, "a supervisor takes calls, not casts; dropped");
                return;
            }
        };
        let answer = match crate::codec::decode::<SupervisorRequest>(&payload) {
            Err(e) => SupervisorReply::Error(format!("not a supervisor request: {e}")),
            Ok(SupervisorRequest::StartChild(new)) => self.add_child(new, from).await,
            Ok(SupervisorRequest::TerminateChild(id)) => {
                match self.children.iter().position(|c| c.spec.id == id) {
                    None => SupervisorReply::Error("not_found".into()),
                    Some(i) => {
                        self.stop_children(i, i + 1).await;
                        self.children.remove(i);
                        SupervisorReply::Terminated
                    }
                }
            }
            Ok(SupervisorRequest::WhichChildren) => SupervisorReply::Children(
                self.children
                    .iter()
                    .map(|c| ChildInfo {
                        id: c.spec.id.clone(),
                        actor: c.cell.as_ref().map(|c| c.id.get()),
                        supervisor: matches!(c.spec.kind, ChildKind::Supervisor(_)),
                    })
                    .collect(),
            ),
        };
        let bytes = crate::codec::encode(&answer).expect("supervisor replies encode");
        let _ = reply.send(Ok(bytes));
    }

    /// Adds and starts a child for `from` (0: the host). A child a guest asks for
    /// runs in that guest's sandbox and joins its lineage, on its `max_children`:
    /// asking a supervisor never widens a guest's authority.
    async fn add_child(&mut self, new: NewChild, from: u64) -> SupervisorReply {
        let running = self.children.iter().filter(|c| c.cell.is_some()).count();
        if self.max_children.is_some_and(|max| running >= max) {
            return SupervisorReply::Error("max_children".into());
        }
        if new.significant && new.restart == Restart::Permanent {
            return SupervisorReply::Error(
                "a significant child must be transient or temporary".into(),
            );
        }
        let next = &mut self.next_child;
        let spec = new.into_child_spec(|| {
            let id = format!("child-{next}");
            *next += 1;
            id
        });
        if self.children.iter().any(|c| c.spec.id == spec.id) {
            return SupervisorReply::Error("already_present".into());
        }
        let caller = crate::id::ActorId::from_raw(from).and_then(|id| self.rt.registry.get(id));
        if from != 0 && caller.is_none() {
            return SupervisorReply::Error("noproc: the caller is gone".into());
        }
        let mut spec = spec;
        let child = match caller.and_then(|c| c.authority.get().cloned()) {
            // The host or a probe: the supervisor's own sandbox and lineage.
            None => Child::new(spec, self.lineage.as_ref()),
            Some(authority) => {
                let quotas = self.rt.effective(&authority.sandbox);
                let asker_label = format!("#{from}");
                let permit = match crate::actor::child_permit(
                    &self.rt,
                    &asker_label,
                    &authority.lineage,
                    &quotas,
                ) {
                    Ok(p) => p,
                    Err(e) => return SupervisorReply::Error(format!("{e:?}")),
                };
                if let ChildKind::Actor { sandbox, .. } = &mut spec.kind {
                    *sandbox = Some(authority.sandbox.clone());
                }
                let mut child = Child::new(spec, Some(&authority.lineage));
                child.permit = Some(permit);
                child
            }
        };
        self.children.push(child);
        let i = self.children.len() - 1;
        match self.start_child(i).await {
            Ok(()) => SupervisorReply::Started(
                self.children[i]
                    .cell
                    .as_ref()
                    .expect("just started")
                    .id
                    .get(),
            ),
            Err(e) => {
                self.children.remove(i);
                SupervisorReply::Error(e.to_string())
            }
        }
    }

    /// Handles the exit of child `i`; returns the supervisor's own exit reason when
    /// it gives up.
    async fn child_exited(&mut self, i: usize, reason: ExitReason) -> Option<ExitReason> {
        let restart = match self.children[i].spec.restart {
            Restart::Permanent => true,
            Restart::Transient => !reason.is_normal(),
            Restart::Temporary => false,
        };
        tracing::debug!(supervisor = %self.cell.label, child = %self.children[i].spec.id, %reason, restart, "child exited");
        if !restart {
            let significant = self.children[i].spec.significant;
            if self.children[i].spec.restart == Restart::Temporary {
                self.children.remove(i);
            }
            let shut_down = significant
                && match self.auto_shutdown {
                    AutoShutdown::Never => false,
                    AutoShutdown::AnySignificant => true,
                    AutoShutdown::AllSignificant => !self
                        .children
                        .iter()
                        .any(|c| c.spec.significant && c.cell.is_some()),
                };
            if shut_down {
                tracing::info!(supervisor = %self.cell.label, "significant children exited; shutting down");
                self.stop_children(0, self.children.len()).await;
                return Some(ExitReason::Shutdown);
            }
            return None;
        }
        let mut failed = i;
        loop {
            if self.intensity_exceeded() {
                tracing::error!(
                    supervisor = %self.cell.label,
                    child = %self.children[failed].spec.id,
                    "more than {} restarts in {:?}; shutting down",
                    self.max_restarts,
                    self.max_seconds
                );
                self.stop_children(0, self.children.len()).await;
                return Some(ExitReason::Shutdown);
            }
            let (from, to) = match self.strategy {
                Strategy::OneForOne => (failed, failed + 1),
                Strategy::OneForAll => (0, self.children.len()),
                Strategy::RestForOne => (failed, self.children.len()),
            };
            self.stop_children(from, to).await;
            let mut result = Ok(());
            for j in from..to {
                result = self.start_child(j).await;
                if result.is_err() {
                    failed = j;
                    break;
                }
            }
            match result {
                Ok(()) => return None,
                Err(SpawnError::Unavailable(why)) if self.rt.is_shutting_down() => {
                    // No restart can succeed any more: stop like a supervisor that
                    // gave up, instead of retrying until the intensity runs out.
                    tracing::debug!(supervisor = %self.cell.label, "no restart during shutdown: {why}");
                    self.stop_children(0, self.children.len()).await;
                    return Some(ExitReason::Shutdown);
                }
                // A child that fails to restart counts as another restart; the
                // intensity limit ends the attempts. Yield between attempts so a
                // child that fails at once never holds the worker thread.
                Err(e) => {
                    tracing::warn!(supervisor = %self.cell.label, "restart failed: {e}");
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    /// Records a restart and says whether there were more than `max_restarts` within
    /// `max_seconds` (S6).
    fn intensity_exceeded(&mut self) -> bool {
        let now = Instant::now();
        self.restarts.push_back(now);
        while let Some(&oldest) = self.restarts.front() {
            if now.duration_since(oldest) > self.max_seconds {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        self.restarts.len() > self.max_restarts as usize
    }
}

/// Stops one child by its shutdown spec. The supervisor unlinks first, so the exit
/// it causes is not mistaken for a crash.
async fn stop_child(supervisor: &ActorCell, child: &Arc<ActorCell>, shutdown: Shutdown) {
    registry::unlink(supervisor, child);
    match shutdown {
        Shutdown::BrutalKill => child.kill_with(ExitReason::Killed),
        Shutdown::Timeout(t) => {
            let _ = child
                .mailbox
                .signals
                .send(Signal::Stop(ExitReason::Shutdown));
            if tokio::time::timeout(t, crate::runtime::wait_exit(child))
                .await
                .is_ok()
            {
                return;
            }
            child.kill_with(ExitReason::Killed);
        }
        Shutdown::Infinity => {
            let _ = child
                .mailbox
                .signals
                .send(Signal::Stop(ExitReason::Shutdown));
        }
    }
    crate::runtime::wait_exit(child).await;
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // A killed supervisor has not stopped its children, and one that traps exits
        // outlives it: its quota unit goes with it, given back when it exits.
        for child in &mut self.children {
            if let (Some(cell), Some(permit)) = (child.cell.take(), child.permit.take()) {
                cell.permit.hold(permit);
            }
        }
        let reason = self.cell.begin_exit(&self.rt.registry, self.exit.take());
        self.rt
            .tables
            .owner_exited(self.cell.id.get(), &self.rt.registry);
        self.rx.close_and_drain(&reason);
        tracing::info!(supervisor = %self.cell.label, "exited: {reason}");
        self.exit_tx.send_replace(Some(reason));
    }
}
