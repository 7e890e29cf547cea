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

use crate::codec;
use crate::error::{ExitReason, SpawnError};
use crate::id::{ActorId, HOST};
use crate::node::{Holdings, NewCell, Node, SpawnSpec, wait_exit};
use crate::process::cell::{self, ActorCell, Slot};
use crate::process::mailbox::{Envelope, MailboxRx, Received, Signal};
use crate::process::sched;
use crate::sandbox::{Authority, Lineage, Permit, Sandbox};
use crate::supervisor::spec::{
    AutoShutdown, ChildInfo, ChildKind, ChildSpec, NewChild, Restart, Shutdown, Strategy,
    SupervisorSpec,
};
use crate::supervisor::wire::{ChildError, SupervisorReply, SupervisorRequest};

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
    fn new(node: &Node, spec: ChildSpec, lineage: Option<&Arc<Lineage>>) -> Child {
        let slot = Arc::<Slot>::default();
        if let ChildKind::Actor {
            keep_mailbox: true, ..
        } = spec.kind
        {
            slot.keep_mailbox(node.events.dead_letters.clone());
        }
        Child {
            spec,
            cell: None,
            slot,
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
    node: &Arc<Node>,
    spec: SupervisorSpec,
    name: Option<String>,
    parent: Option<Arc<ActorCell>>,
    slot: Option<Arc<Slot>>,
    lineage: Option<Arc<Lineage>>,
) -> Result<Arc<ActorCell>, SpawnError> {
    if spec.max_seconds.is_zero() {
        // OTP requires a positive period; a zero window would never see two
        // restarts in it, so the supervisor would never give up.
        return Err(SpawnError::Unavailable(
            "max_seconds must be more than zero (the window in which max_restarts restarts are allowed)".into(),
        ));
    }
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
    let id = node.ids.next();
    let label: Arc<str> = name
        .clone()
        .unwrap_or_else(|| format!("supervisor{id}"))
        .into();
    // A supervisor traps exits from the start: a child's exit must never kill it.
    let NewCell { cell, rx, exit_tx } = node.new_cell(
        id,
        label,
        node.settings.mailbox_capacity,
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
            .unwrap_or_else(|| node.default_sandbox.clone()),
        lineage: lineage.clone().unwrap_or_default(),
    });
    if let Some(slot) = &slot {
        slot.set(cell.clone());
        cell.set_slot(slot);
    }
    let (ready_tx, ready_rx) = oneshot::channel();
    let sup = Supervisor {
        node: node.clone(),
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
            .map(|spec| Child::new(node, spec, lineage.as_ref()))
            .collect(),
        lineage,
        next_child: 1,
        restarts: VecDeque::new(),
        exit: None,
    };
    cell.arm_abort(sched::spawn_actor(&node.handle, sup.run(ready_tx)));
    match ready_rx.await {
        Ok(Ok(())) => Ok(cell),
        Ok(Err(e)) => {
            wait_exit(&cell).await;
            Err(e)
        }
        Err(_) => Err(SpawnError::InitFailed {
            actor: cell.label.to_string(),
            reason: wait_exit(&cell).await,
        }),
    }
}

/// `start` for a nested supervisor, boxed: a supervisor's task starts its child
/// supervisors, so the future is recursive and must name its own `Send` type.
fn start_nested(
    node: Arc<Node>,
    spec: SupervisorSpec,
    name: Option<String>,
    parent: Arc<ActorCell>,
    slot: Arc<Slot>,
    lineage: Option<Arc<Lineage>>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Arc<ActorCell>, SpawnError>> + Send>>
{
    Box::pin(async move { start(&node, spec, name, Some(parent), Some(slot), lineage).await })
}

fn duplicate_id(children: &[ChildSpec]) -> Option<&str> {
    children
        .iter()
        .enumerate()
        .find(|(i, c)| children[..*i].iter().any(|d| d.id == c.id))
        .map(|(_, c)| c.id.as_str())
}

struct Supervisor {
    node: Arc<Node>,
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
            // The error names the child: a tree's start fails as a whole.
            self.start_child(i).await.map_err(|e| {
                SpawnError::Unavailable(format!(
                    "child {:?} failed to start: {e}",
                    self.children[i].spec.id
                ))
            })?;
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
                _ => self.sandbox.as_ref().unwrap_or(&self.node.default_sandbox),
            };
            let quotas = self.node.effective(sandbox);
            let permit = lineage.child_permit(&self.node.hits, &self.cell.label, &quotas)?;
            self.children[i].permit = Some(permit);
        }
        let child = &self.children[i];
        let started = match &child.spec.kind {
            ChildKind::Actor {
                component,
                args,
                mailbox,
                sandbox,
                ..
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
                self.node.spawn(spec).await
            }
            ChildKind::Supervisor(spec) => {
                let mut spec = spec.clone();
                if spec.sandbox.is_none() {
                    spec.sandbox = self.sandbox.clone();
                }
                start_nested(
                    self.node.clone(),
                    spec,
                    child.spec.name.clone(),
                    self.cell.clone(),
                    child.slot.clone(),
                    self.lineage.as_ref().map(|_| child.lineage.clone()),
                )
                .await
            }
        };
        let cell = started?;
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
            Signal::Exit { from, reason, .. } => {
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
        let answer = match codec::decode::<SupervisorRequest>(&payload) {
            Err(e) => SupervisorReply::Error(ChildError::Invalid(format!(
                "not a supervisor request: {e}"
            ))),
            Ok(SupervisorRequest::StartChild(new)) => self.add_child(new, from).await,
            Ok(SupervisorRequest::TerminateChild(id)) => {
                match self.children.iter().position(|c| c.spec.id == id) {
                    None => SupervisorReply::Error(ChildError::NotFound),
                    Some(i) => {
                        self.stop_children(i, i + 1).await;
                        // No next instance: what it kept ends here.
                        self.children.remove(i).slot.drop_kept();
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
        let bytes = codec::encode(&answer).expect("supervisor replies encode");
        let _ = reply.send(Ok(bytes));
    }

    /// Adds and starts a child for `from` (0: the host). A child a guest asks for
    /// runs in that guest's sandbox and joins its lineage, on its `max_children`:
    /// asking a supervisor never widens a guest's authority.
    async fn add_child(&mut self, new: NewChild, from: u64) -> SupervisorReply {
        let running = self.children.iter().filter(|c| c.cell.is_some()).count();
        if self.max_children.is_some_and(|max| running >= max) {
            return SupervisorReply::Error(ChildError::MaxChildren);
        }
        if new.significant && new.restart == Restart::Permanent {
            return SupervisorReply::Error(ChildError::Invalid(
                "a significant child must be transient or temporary".into(),
            ));
        }
        let next = &mut self.next_child;
        let spec = new.into_child_spec(|| {
            let id = format!("child-{next}");
            *next += 1;
            id
        });
        if self.children.iter().any(|c| c.spec.id == spec.id) {
            return SupervisorReply::Error(ChildError::AlreadyPresent);
        }
        let caller = ActorId::from_raw(from).and_then(|id| self.node.registry.get(id));
        if from != HOST && caller.is_none() {
            return SupervisorReply::Error(ChildError::CallerGone);
        }
        let mut spec = spec;
        let child = match caller.and_then(|c| c.authority.get().cloned()) {
            // The host or a probe: the supervisor's own sandbox and lineage.
            None => Child::new(&self.node, spec, self.lineage.as_ref()),
            Some(authority) => {
                let quotas = self.node.effective(&authority.sandbox);
                let asker_label = format!("#{from}");
                let permit =
                    match authority
                        .lineage
                        .child_permit(&self.node.hits, &asker_label, &quotas)
                    {
                        Ok(p) => p,
                        Err(e) => return SupervisorReply::Error(ChildError::StartFailed(e)),
                    };
                if let ChildKind::Actor { sandbox, .. } = &mut spec.kind {
                    *sandbox = Some(authority.sandbox.clone());
                }
                let mut child = Child::new(&self.node, spec, Some(&authority.lineage));
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
                SupervisorReply::Error(ChildError::StartFailed(e))
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
            // No next instance: what it kept ends here.
            self.children[i].slot.drop_kept();
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
                Err(SpawnError::Unavailable(why)) if self.node.is_shutting_down() => {
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
                    let child = &self.children[failed].spec.id;
                    tracing::warn!(supervisor = %self.cell.label, child, "restart failed: {e}");
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
    cell::unlink(supervisor, child);
    match shutdown {
        Shutdown::BrutalKill => child.kill_with(ExitReason::Killed),
        Shutdown::Timeout(t) => {
            let _ = child
                .mailbox
                .signals
                .send(Signal::Stop(ExitReason::Shutdown));
            if tokio::time::timeout(t, wait_exit(child)).await.is_ok() {
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
    wait_exit(child).await;
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        // A killed supervisor has not stopped its children, and one that traps exits
        // outlives it: its quota unit goes with it, given back when it exits.
        for child in &mut self.children {
            if let (Some(cell), Some(permit)) = (child.cell.take(), child.permit.take()) {
                cell.permit.hold(permit);
            }
            // No next instance: what its children kept ends with the supervisor (a
            // child still running, of a killed supervisor, ends its own when its
            // slot goes).
            child.slot.drop_kept();
        }
        let reason = self.node.exit(
            &self.cell,
            self.exit.take(),
            &mut Holdings::default(),
            &mut self.rx,
            &self.exit_tx,
        );
        tracing::info!(supervisor = %self.cell.label, "exited: {reason}");
    }
}
