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
use crate::mailbox::{MailboxRx, Signal, mailbox};
use crate::registry::{self, ActorCell, Slot};
use crate::runtime::{Inner, SpawnSpec};

/// How a supervisor restarts its children when one exits and must be restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
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
            },
            name: None,
            restart: Restart::Permanent,
            shutdown: Shutdown::Timeout(Duration::from_secs(5)),
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
        }
    }

    /// Registers each instance of this child under `name`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
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
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec {
            strategy: Strategy::OneForOne,
            max_restarts: 1,
            max_seconds: Duration::from_secs(5),
            children: Vec::new(),
        }
    }
}

/// A child as the supervisor tracks it.
struct Child {
    spec: ChildSpec,
    /// The running instance, if any.
    cell: Option<Arc<ActorCell>>,
    slot: Option<Arc<Slot>>,
}

/// Starts a supervisor linked to `parent` (if any) and its children in order; returns
/// once all have started. If a child fails to start, the ones started are stopped in
/// reverse order and the error names the child.
pub(crate) async fn start(
    rt: &Arc<Inner>,
    spec: SupervisorSpec,
    name: Option<String>,
    parent: Option<Arc<ActorCell>>,
) -> Result<Arc<ActorCell>, SpawnError> {
    if let Some(dup) = duplicate_id(&spec.children) {
        return Err(SpawnError::Unavailable(format!(
            "two children have the id {dup:?}"
        )));
    }
    let id = rt.ids.next();
    let label: Arc<str> = name
        .clone()
        .unwrap_or_else(|| format!("supervisor{id}"))
        .into();
    let (tx, rx) = mailbox(1);
    let (exit_tx, exit_rx) = watch::channel(None);
    let cell = Arc::new(ActorCell::new(id, label, tx, exit_rx, false));
    cell.trap_exit.store(true, Ordering::SeqCst);
    cell.supervised.store(parent.is_some(), Ordering::SeqCst);
    rt.registry.insert(cell.clone());
    if let Some(name) = &name
        && rt.registry.register(&cell, name).is_err()
    {
        rt.registry.remove(id);
        return Err(SpawnError::NameTaken(name.clone()));
    }
    if let Some(parent) = &parent {
        let _ = registry::link(parent, &cell);
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
        restarts: VecDeque::new(),
        children: spec
            .children
            .into_iter()
            .map(|spec| Child {
                spec,
                cell: None,
                slot: None,
            })
            .collect(),
        exit: None,
    };
    cell.arm_abort(crate::sched::spawn_actor(&rt.handle, sup.run(ready_tx)));
    match ready_rx.await {
        Ok(Ok(())) => Ok(cell),
        Ok(Err(e)) => {
            wait_gone(&cell).await;
            Err(e)
        }
        Err(_) => Err(SpawnError::InitFailed {
            actor: cell.label.to_string(),
            reason: wait_gone(&cell).await,
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
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Arc<ActorCell>, SpawnError>> + Send>>
{
    Box::pin(async move { start(&rt, spec, name, Some(parent)).await })
}

fn duplicate_id(children: &[ChildSpec]) -> Option<&str> {
    children
        .iter()
        .enumerate()
        .find(|(i, c)| children[..*i].iter().any(|d| d.id == c.id))
        .map(|(_, c)| c.id.as_str())
}

async fn wait_gone(cell: &ActorCell) -> ExitReason {
    let mut exit = cell.exit.clone();
    let waited = exit.wait_for(Option::is_some).await.map(|r| r.clone());
    match waited {
        Ok(Some(reason)) => reason,
        _ => exit.borrow().clone().unwrap_or(ExitReason::Killed),
    }
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
        let child = &self.children[i];
        let started = match &child.spec.kind {
            ChildKind::Actor {
                component,
                args,
                mailbox,
            } => {
                let spec = SpawnSpec {
                    component: component.clone(),
                    args: args.clone(),
                    name: child.spec.name.clone(),
                    mailbox: *mailbox,
                    link: Some(self.cell.clone()),
                };
                self.rt.spawn(spec).await
            }
            ChildKind::Supervisor(spec) => {
                start_nested(
                    self.rt.clone(),
                    spec.clone(),
                    child.spec.name.clone(),
                    self.cell.clone(),
                )
                .await
            }
        };
        let cell = started.map_err(|e| {
            SpawnError::Unavailable(format!("child {:?} failed to start: {e}", child.spec.id))
        })?;
        cell.supervised.store(true, Ordering::SeqCst);
        let child = &mut self.children[i];
        match &child.slot {
            Some(slot) => slot.set(cell.clone()),
            None => child.slot = Some(Slot::new(cell.clone())),
        }
        cell.set_slot(child.slot.as_ref().expect("set above"));
        child.cell = Some(cell);
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
        loop {
            let Some(signal) = self.rx.signals.recv().await else {
                return ExitReason::Shutdown;
            };
            match signal {
                Signal::Stop(reason) => {
                    self.stop_children(0, self.children.len()).await;
                    return reason;
                }
                Signal::Down(_) => {}
                Signal::Exit { from, reason } => {
                    if Some(from) == self.parent {
                        // OTP: a supervisor whose parent exits stops its children and
                        // exits with the same reason.
                        self.stop_children(0, self.children.len()).await;
                        return reason;
                    }
                    let Some(i) = self
                        .children
                        .iter()
                        .position(|c| c.cell.as_ref().is_some_and(|c| c.id == from))
                    else {
                        // An instance already replaced or stopped by us.
                        continue;
                    };
                    self.children[i].cell = None;
                    if let Some(reason) = self.child_exited(i, reason).await {
                        return reason;
                    }
                }
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
            if self.children[i].spec.restart == Restart::Temporary {
                self.children.remove(i);
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
                // A child that fails to restart counts as another restart; the
                // intensity limit ends the attempts.
                Err(e) => tracing::warn!(supervisor = %self.cell.label, "restart failed: {e}"),
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
            if tokio::time::timeout(t, wait_gone(child)).await.is_ok() {
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
    wait_gone(child).await;
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        let reason = self
            .exit
            .take()
            .or_else(|| self.cell.take_kill_reason())
            .unwrap_or(ExitReason::Killed);
        self.rt.registry.remove(self.cell.id);
        self.cell.notify_exit(&self.rt.registry, &reason);
        self.rx.close_and_drain(&reason);
        tracing::info!(supervisor = %self.cell.label, "exited: {reason}");
        self.exit_tx.send_replace(Some(reason));
    }
}
