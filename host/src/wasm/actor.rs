//! One actor's life: instantiate, `init`, the loop over its mailbox (a batch of
//! messages per guest entry), `terminate`; or, for a supervised task, one call of
//! `tasks.run`. Dropping the `ActorTask` runs the exit path (`Node::exit`), so it runs
//! however the loop ends: return, trap, or a kill that drops the task.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use foundation_wire as wire;
use tokio::sync::{oneshot, watch};
use wasmtime::Store;

use crate::error::{ExitReason, SendError};
use crate::node::{Holdings, Node};
use crate::process::cell::{self, ActorCell};
use crate::process::mailbox::{Envelope, MailboxRx, Received, Signal, SignalTx};
use crate::sandbox::{Authority, Effective};
use crate::wasm::bindings::{ActorWorld, BatchResult, wit};
use crate::wasm::engine::chain;
use crate::wasm::store::{ActorData, LoadedComponent, entering, new_store};
use crate::wasm::ticker::EpochTicker;

/// Messages handed to the guest in one entry, at most.
const MAX_BATCH: usize = 256;

/// Owns everything an actor's loop needs; dropping it runs the exit path.
pub(crate) struct ActorTask {
    node: Arc<Node>,
    ticker: Arc<EpochTicker>,
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
        node: Arc<Node>,
        ticker: Arc<EpochTicker>,
        cell: Arc<ActorCell>,
        component: Arc<LoadedComponent>,
        rx: MailboxRx,
        exit_tx: watch::Sender<Option<ExitReason>>,
        parent: Option<Arc<ActorCell>>,
        authority: Authority,
        limits: Effective,
    ) -> ActorTask {
        ActorTask {
            node,
            ticker,
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
        let store = match new_store(
            self.component.pre.engine(),
            &self.node,
            &self.ticker,
            &self.cell,
            &self.authority,
            self.limits,
        ) {
            Ok(store) => self.store.insert(store),
            Err(e) => return ExitReason::Custom(e),
        };
        // Checked when the task was started.
        let Some(run) = self.component.task_run else {
            return ExitReason::Custom("the component exports no task-runner".into());
        };
        let instance = match Box::pin(
            self.component
                .pre
                .instance_pre()
                .instantiate_async(&mut *store),
        )
        .await
        {
            Ok(i) => i,
            Err(e) => return ExitReason::Custom(format!("cannot instantiate: {}", chain(&e))),
        };
        let run = match instance
            .get_typed_func::<(&str, &[u8]), (Result<Vec<u8>, String>,)>(&mut *store, run)
        {
            Ok(f) => f,
            Err(e) => {
                return ExitReason::Custom(format!(
                    "its task-runner export is not `run: func(function: string, input: list<u8>) -> result<list<u8>, string>`: {}",
                    chain(&e)
                ));
            }
        };
        match run.call_async(&mut *store, (function, input)).await {
            Ok((result,)) => {
                // A result is a message to the starter: the same size limit holds.
                let max = self.node.settings.max_message_size;
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
            cell::unlink(parent, &self.cell);
        }
        let _ = init_tx.send(Err(reason.clone()));
    }

    async fn live(
        &mut self,
        args: Vec<u8>,
        init_tx: oneshot::Sender<Result<(), ExitReason>>,
    ) -> ExitReason {
        let store = match new_store(
            self.component.pre.engine(),
            &self.node,
            &self.ticker,
            &self.cell,
            &self.authority,
            self.limits,
        ) {
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
        let init_deadline = self.limits.init_deadline;
        let init = within(
            init_deadline,
            Box::pin(guest.call_init(&mut *store, &args)).as_mut(),
        )
        .await;
        let Ok(init) = init else {
            let d = init_deadline.expect("only a deadline passes");
            let what = if self.limits.deadline == Some(d) {
                format!("deadline-exceeded: a handler ran longer than {d:?}")
            } else {
                format!("deadline-exceeded: init ran longer than its init_deadline of {d:?}")
            };
            let reason = store.data().limits.deadline_exceeded(what, d);
            self.init_failed(init_tx, &reason);
            return reason;
        };
        match init {
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
        let deadline = self.limits.deadline;
        loop {
            // A stop the guest or a signal asks for; its `terminate` runs below.
            let stop = match self.rx.recv(&mut envelopes, MAX_BATCH).await {
                Received::Signal(signal) => match on_signal(&self.cell, store.data_mut(), signal) {
                    SignalAction::Ignore => None,
                    SignalAction::Terminate(reason) => Some(reason),
                    SignalAction::Die(reason) => return reason,
                    SignalAction::Deliver(info) => {
                        entering(store);
                        let outcome = {
                            let mut entry = Box::pin(guest.call_handle_info(&mut *store, &info));
                            within(deadline, entry.as_mut()).await
                        };
                        match outcome {
                            Ok(Ok(stop)) => stop.map(ExitReason::from),
                            Ok(Err(e)) => return trapped(&self.cell, store, &e, "handle-info"),
                            Err(d) => return handler_deadline(store, d),
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
                                wire::batch::push_cast(&mut batch, from, &payload)
                            }
                            Envelope::Call {
                                from,
                                payload,
                                reply,
                            } => {
                                if data.holdings.pending.len() >= data.quotas.max_pending_calls {
                                    refuse_call(data, reply);
                                    continue;
                                }
                                let handle = data.add_pending(reply);
                                wire::batch::push_call(&mut batch, from, handle, &payload);
                            }
                        }
                    }
                    entering(store);
                    let outcome = {
                        let entry = std::pin::pin!(guest.call_handle(&mut *store, &batch));
                        within(deadline, entry).await
                    };
                    let result = match outcome {
                        Ok(Ok(result)) => result,
                        Ok(Err(e)) => return trapped(&self.cell, store, &e, "handle"),
                        Err(d) => return handler_deadline(store, d),
                    };
                    if let Err(reason) = deliver_replies(store.data_mut(), &result) {
                        return reason;
                    }
                    result.stop.map(ExitReason::from)
                }
            };
            if let Some(reason) = stop {
                let timeout = self.node.settings.shutdown_timeout;
                return Box::pin(terminate(&self.cell, store, &instance, reason, timeout)).await;
            }
        }
    }
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
        Signal::Down(down) => match data.holdings.monitors.remove(&down.monitor) {
            None => SignalAction::Ignore,
            Some(_) => SignalAction::Deliver(wit::Info::Down(wit::Down {
                monitor: down.monitor,
                actor: down.actor,
                reason: down.reason.into(),
            })),
        },
        // A result of a task whose monitor was removed (shutdown-task) is dropped.
        Signal::TaskDone { monitor, result } => {
            if data.holdings.monitors.contains_key(&monitor) {
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
        Signal::Exit { from, reason, .. } => {
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

/// Runs a guest entry within `deadline` of wall time, running or waiting in host
/// calls alike: past it the entry is cancelled (its future dropped, which unwinds
/// the guest's stack and abandons any wait) and the deadline comes back as the
/// error. The guest yields at every epoch tick, so the timer is seen within a slice
/// even while it is busy.
///
/// The timer is armed only if the entry does not finish in its first poll (most
/// entries run to the end without yielding), at the deadline counted from the entry's
/// start: a timer costs a registration in tokio's wheel, which every spawn would pay
/// for its `init` otherwise. No deadline: no clock read, no timer.
///
/// The entry is pinned by the caller and borrowed here: an async fn that takes it by
/// value keeps a second slot for it (its parameter, then its pinned local), and the
/// `handle` entry is inline in every actor's task, so each idle actor paid 0.8 KiB
/// for it (measured). The timer is boxed: only entries that wait pay for it.
async fn within<F: Future>(
    deadline: Option<Duration>,
    mut entry: std::pin::Pin<&mut F>,
) -> Result<F::Output, Duration> {
    let due = deadline.map(|d| (d, tokio::time::Instant::now() + d));
    let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(done) = entry.as_mut().poll(cx) {
            return Poll::Ready(Ok(done));
        }
        if let Some((d, at)) = due {
            let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(d));
            }
        }
        Poll::Pending
    })
    .await
}

/// Answers a call the actor cannot take: it holds `max_pending_calls` unanswered.
#[cold]
fn refuse_call(data: &ActorData, reply: crate::process::mailbox::ReplyTx) {
    let max = data.quotas.max_pending_calls;
    let why = crate::sandbox::limit_hit(
        &data.node.hits.pending_calls,
        &data.cell.label,
        "max_pending_calls",
        max,
        format!("max_pending_calls: the receiver holds {max} calls unanswered already, its limit"),
    );
    let _ = reply.send(Err(SendError::QuotaExceeded(why)));
}

/// The exit reason of a batch or a system message cancelled at the handler deadline.
fn handler_deadline(store: &Store<ActorData>, deadline: Duration) -> ExitReason {
    let what = format!("deadline-exceeded: a handler ran longer than {deadline:?}");
    store.data().limits.deadline_exceeded(what, deadline)
}

fn deliver_replies(data: &mut ActorData, result: &BatchResult) -> Result<(), ExitReason> {
    for reply in wire::reply::read(&result.replies) {
        let wire::reply::Reply { handle, payload } =
            reply.map_err(|e| ExitReason::Trap(format!("malformed batch result: {e}")))?;
        match data.answer(handle, payload) {
            Ok(()) => {}
            Err(wit::ReplyError::TooLarge) => {
                let max = data.node.settings.max_message_size;
                tracing::warn!(actor = %data.cell.label, size = payload.len(), max, "reply too large; the caller gets an error");
                if let Some(tx) = data.holdings.pending.remove(&handle) {
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
        // A task dropped without an exit of its own was killed from outside: the
        // reason is the one its killer recorded. Its timers die with it; the rest is
        // the exit path every process takes.
        let mut none = Holdings::default();
        let holdings = match self.store.as_mut() {
            Some(store) => {
                let data = store.data_mut();
                for (_, timer) in data.timers.drain() {
                    timer.kill();
                }
                &mut data.holdings
            }
            None => &mut none,
        };
        let reason = self.node.exit(
            &self.cell,
            self.exit.take(),
            holdings,
            &mut self.rx,
            &self.exit_tx,
        );
        if reason.is_normal() {
            tracing::debug!(actor = %self.cell.label, id = %self.cell.id, "exited: {reason}");
        } else {
            tracing::info!(actor = %self.cell.label, id = %self.cell.id, "exited: {reason}");
        }
    }
}
